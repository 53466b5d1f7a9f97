"""The library's layout shows the architecture: five parts whose imports run one way (core < labelling < data <
networks < training < reproduction), no circle between modules, short lines, and checks that survive `python -O`."""
import ast
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parents[1] / "dsnet"
PARTS = ("core", "labelling", "data", "networks", "training", "reproduction")


def module_name(path: Path) -> str:
    "dsnet/data/metrics.py -> dsnet.data.metrics"
    return ".".join(path.relative_to(LIBRARY.parent).with_suffix("").parts)


def library_modules() -> dict[str, Path]:
    "Every module of the library but the generated index and the package files."
    files = [p for p in LIBRARY.rglob("*.py") if p.name not in ("_modidx.py", "__init__.py")]
    return {module_name(p): p for p in files}


def imported_modules(name: str, path: Path) -> set[str]:
    "The library modules that `name` imports, at any depth of its code (lazy imports in functions count too)."
    package = name.rsplit(".", 1)[0].split(".")
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found |= {c for c in candidates if c.startswith("dsnet.")}
    return found


def part_of(module: str) -> str:
    "dsnet.core -> core; dsnet.training.train -> training"
    return module.split(".")[1]


def import_graph() -> dict[str, set[str]]:
    modules = library_modules()
    return {name: {m for m in imported_modules(name, path) if m in modules} for name, path in modules.items()}


def test_every_module_lives_in_one_of_the_five_parts():
    parts = {part_of(m) for m in library_modules()}
    assert parts <= set(PARTS), parts - set(PARTS)
    assert {"labelling", "data", "networks", "training", "reproduction"} <= parts


def test_imports_never_go_up_a_part():
    rank = {part: i for i, part in enumerate(PARTS)}
    upward = [(m, i) for m, imports in import_graph().items() for i in imports if rank[part_of(i)] > rank[part_of(m)]]
    assert not upward, f"a lower part imports a higher one: {upward}"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    "One import circle of `graph` (a list of modules that ends where it starts), or None."
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_find_cycle_finds_a_planted_circle_and_none_in_a_chain():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_library_has_no_import_circle():
    assert find_cycle(import_graph()) is None


def test_imported_modules_reads_relative_and_lazy_imports(tmp_path):
    source = "from ..data.metrics import dice\nfrom . import config\ndef f():\n    from dsnet.core import cache_dir\n"
    path = tmp_path / "x.py"
    path.write_text(source)
    found = imported_modules("dsnet.training.x", path)
    assert {"dsnet.data.metrics", "dsnet.training.config", "dsnet.core"} <= found


def test_library_checks_raise_errors_not_asserts():
    asserts = [f"{module_name(p)}:{n.lineno}" for p in library_modules().values()
               for n in ast.walk(ast.parse(p.read_text())) if isinstance(n, ast.Assert)]
    assert not asserts, f"`assert` is removed by python -O; raise ValueError / TypeError instead: {asserts}"


@pytest.mark.parametrize("limit, share", [(160, 0.0), (120, 0.005)])
def test_exported_lines_are_short(limit, share):
    lines = [(module_name(p), i + 1) for p in library_modules().values()
             for i, line in enumerate(p.read_text().splitlines()) if len(line) > limit]
    total = sum(len(p.read_text().splitlines()) for p in library_modules().values())
    assert len(lines) <= share * total, f"{len(lines)} of {total} lines over {limit} characters, e.g. {lines[:5]}"
