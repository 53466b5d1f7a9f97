"""Every comparison network of dsnet.networks.baselines builds at a tiny size, keeps the shape, refuses bad input before any
computation, and (where it has one) returns a finite auxiliary loss (the notebooks 12_* hold the behaviour checks)."""
import pytest
import torch

from dsnet.networks.baselines import BASELINES, QUOTED, baseline_names, build_baseline
from dsnet.core import get_profile

TINY = get_profile("quick").replace(width=4, depth=2)
OTHER_SIDE = {"medt": None, "cascaded-cnn": 37}          # MedT takes one side only; the Cascaded CNN any side


def tiny(name: str, **kw) -> torch.nn.Module:
    return build_baseline(name, profile=TINY, **kw)


@pytest.mark.parametrize("name", baseline_names())
def test_shapes(name):
    net = tiny(name).eval()
    other = OTHER_SIDE.get(name, 96)
    with torch.no_grad():
        assert net(torch.randn(2, 1, 64, 64)).shape == (2, 1, 64, 64)
        if other is not None:
            assert net(torch.randn(1, 1, other, other)).shape == (1, 1, other, other)
    net3 = tiny(name, in_channels=3)
    with torch.no_grad():
        assert net3.eval()(torch.randn(1, 3, 64, 64)).shape == (1, 1, 64, 64)


@pytest.mark.parametrize("name", baseline_names())
def test_bad_input(name):
    net = tiny(name).eval()
    with pytest.raises(ValueError, match=r"1 channel.*3"):
        net(torch.randn(1, 3, 64, 64))
    with pytest.raises(TypeError, match="ndarray"):
        net(torch.randn(1, 1, 64, 64).numpy())
    if name != "cascaded-cnn":                            # fully convolutional: every side is allowed
        with pytest.raises(ValueError, match="30×30"):
            net(torch.randn(1, 1, 30, 30))


def test_medt_side():
    net = tiny("medt").eval()
    with pytest.raises(ValueError, match=r"built for 64×64.*96×96"):
        net(torch.randn(1, 1, 96, 96))
    with torch.no_grad():
        assert tiny("medt", img_size=32).eval()(torch.randn(1, 1, 32, 32)).shape == (1, 1, 32, 32)
    with pytest.raises(ValueError, match="multiple of patch"):
        tiny("medt", img_size=48)


@pytest.mark.parametrize("name", [n for n in baseline_names() if hasattr(tiny(n), "auxiliary_loss")])
def test_auxiliary_loss(name):
    net = tiny(name)
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 20:40, 24:44] = 1
    with pytest.raises(RuntimeError, match="training mode"):
        net.auxiliary_loss(mask)
    logits = net.train()(torch.randn(1, 1, 64, 64))
    assert logits.shape == (1, 1, 64, 64) and len(net.side_logits) >= 3
    aux = net.auxiliary_loss(mask)
    assert aux.ndim == 0 and torch.isfinite(aux) and aux.requires_grad
    aux.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
    with pytest.raises(ValueError, match="mask of shape"):
        net.auxiliary_loss(torch.zeros(1, 1, 32, 32))


def test_models_without_auxiliary_terms():
    assert {n for n in baseline_names() if hasattr(tiny(n), "auxiliary_loss")} == {"unetpp", "unet3plus", "infnet"}
    assert {n for n, info in BASELINES.items() if info.auxiliary} == {"unetpp", "unet3plus", "infnet"}


def test_registry_errors():
    with pytest.raises(ValueError, match=r"unknown baseline 'segformer'.*'unet'.*'medt'"):
        build_baseline("segformer")
    for name in QUOTED:
        with pytest.raises(ValueError, match="not rerun"):
            build_baseline(name)
    with pytest.raises(ValueError, match="out_channels=0"):
        build_baseline("unet", out_channels=0)
    with pytest.raises(ValueError, match="unknown norm 'layer'"):
        build_baseline("cenet", norm="layer")
    with pytest.raises(ValueError, match="img_size is for 'medt' only"):
        build_baseline("unet", img_size=64)
    with pytest.raises(ValueError, match="table=7"):
        baseline_names(7)


def test_norm_choice():
    for name in ("attention-unet", "unetpp", "deeplabv3plus"):
        kinds = {type(m).__name__ for m in tiny(name).modules()}
        assert "BatchNorm2d" not in kinds and "InstanceNorm2d" in kinds
        assert "BatchNorm2d" in {type(m).__name__ for m in tiny(name, norm="batch").modules()}
