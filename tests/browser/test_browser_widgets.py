"""The explorer (nbs/02_widgets.ipynb) and the review widget (nbs/02a_review.ipynb) in a real JupyterLab and Chromium:
run all cells, no error output, the pictures are images, and they follow a slider, a strategy, a decision."""
import json
import time

import jlab
from jlab import TIMINGS
from playwright.sync_api import expect


def _run_clean(page, lab, name: str, timeout_s: float = 300) -> None:
    "Open, run all, save: no error output, no plot shown as text."
    t0 = time.time()
    jlab.open_notebook(page, lab, name)
    jlab.run_all(page, timeout_s)
    problems = jlab.notebook_problems(jlab.save(page, lab, name))
    TIMINGS.append((f"{name}: open + run all", time.time() - t0, "ok" if not problems else "FAILED"))
    assert not problems, f"{name}:\n" + "\n".join(problems)
    assert page.locator(".jp-OutputArea-output", has_text="<Figure size").count() == 0, f"{name}: a plot shows as text"


def _picture(page, selector: str):
    "The <img> of a widget picture, once loaded; returns (locator, src)."
    img = page.locator(selector).last
    img.scroll_into_view_if_needed()
    page.wait_for_function("(s) => { const i = [...document.querySelectorAll(s)].pop(); return i && i.complete && i.naturalWidth > 300; }",
                           arg=selector)
    assert img.evaluate("e => e.tagName") == "IMG"
    return img, img.get_attribute("src")


def _changed(page, selector: str, old_src: str) -> str:
    page.wait_for_function("([s, old]) => { const i = [...document.querySelectorAll(s)].pop();"
                           " return i.src !== old && i.complete && i.naturalWidth > 300; }", arg=[selector, old_src])
    return page.locator(selector).last.get_attribute("src")


def test_explorer_in_jupyterlab(page, lab):
    _run_clean(page, lab, "02_widgets.ipynb")
    t0 = time.time()
    box = page.locator(".dsnet-explorer").last
    pic = ".dsnet-explorer .dsnet-picture"
    img, src = _picture(page, pic)
    expect(box.locator(".dsnet-status")).to_contain_text("ms")
    first = img.screenshot()
    jlab.screenshot(page, "explorer-1-opened", box)

    readout = box.locator(".dsnet-erode .widget-readout")          # move the erosion slider: type into its readout
    readout.click(); page.keyboard.press("Control+a"); page.keyboard.type("6"); page.keyboard.press("Enter")
    src = _changed(page, pic, src)
    expect(readout).to_have_text("6")
    jlab.screenshot(page, "explorer-2-erode-6", box)

    box.locator(".dsnet-strategy button", has_text="(3) RECIST").click()     # another strategy
    src = _changed(page, pic, src)
    expect(box.locator(".dsnet-margin input, .dsnet-margin .widget-readout").first).to_be_enabled()
    jlab.screenshot(page, "explorer-3-recist", box)
    assert img.screenshot() != first                                       # the picture itself changed
    TIMINGS.append(("explorer: slider + strategy", time.time() - t0, "ok"))


def test_review_in_jupyterlab(page, lab):
    from dsnet.labelling.review import list_items, read_manifest
    _run_clean(page, lab, "02a_review.ipynb")
    t0 = time.time()
    folder = lab.root / "data" / "generated" / "review-demo" / "softmasks"
    names = list_items(folder)
    box = page.locator(".dsnet-review").last
    status = box.locator(".dsnet-review-status")
    pic = ".dsnet-review .dsnet-review-picture"
    img, src = _picture(page, pic)
    expect(status).to_contain_text("item 1 /")
    jlab.screenshot(page, "review-1-opened", box)

    box.locator(".dsnet-accept").click()                                   # accept with the button
    page.wait_for_function("(s) => document.querySelector(s).innerText.includes('item 2 /')", arg=".dsnet-review .dsnet-review-status")
    src = _changed(page, pic, src)
    assert read_manifest(folder)[0][names[0]]["decision"] == "accepted"
    jlab.screenshot(page, "review-2-accepted", box)

    box.locator(".dsnet-keys input").type("r")                             # reject with the keyboard
    page.wait_for_function("(s) => document.querySelector(s).innerText.includes('item 4 /')", arg=".dsnet-review .dsnet-review-status")
    src = _changed(page, pic, src)                                         # item 3 is damaged: skipped
    decisions = read_manifest(folder)[0]
    assert decisions[names[1]]["decision"] == "rejected" and len(decisions) == 2
    assert json.loads((folder / "review.json").read_text())["format"] == "dsnet-review"
    jlab.screenshot(page, "review-3-rejected-by-key", box)

    box.locator(".dsnet-previous").click()                                 # the damaged item, shown as such
    page.wait_for_function("(s) => document.querySelector(s).innerText.includes('cannot be used')", arg=".dsnet-review .dsnet-review-status")
    expect(box.locator(".dsnet-accept")).to_be_disabled()                  # the widget sets it after the status line
    _changed(page, pic, src)
    jlab.screenshot(page, "review-4-damaged-item", box)
    TIMINGS.append(("review: accept, reject, damaged item", time.time() - t0, "ok"))
