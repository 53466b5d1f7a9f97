"""Bad input and round trips for dsnet.networks.backbone and dsnet.networks.srgan (the notebooks hold the behaviour checks)."""
import pytest
import torch

from dsnet.networks.backbone import BackboneConfig, ImprovedBackbone, UNet, build_backbone
from dsnet.networks.srgan import SRResNet
from dsnet.networks.teacher import TEACHER_FORMAT, FrozenTeacher, load_teacher, save_teacher


@pytest.mark.parametrize("kind", ["unet", "improved"])
@pytest.mark.parametrize("side", [64, 256])
def test_backbone_shapes(kind, side):
    net = build_backbone(BackboneConfig(kind=kind, width=4, depth=3, cbam_reduction=2))
    with torch.no_grad():
        assert net(torch.randn(1, 1, side, side)).shape == (1, 1, side, side)


@pytest.mark.parametrize("cls", [UNet, ImprovedBackbone])
def test_backbone_bad_input(cls):
    net = cls(width=4, depth=2)
    with pytest.raises(ValueError, match=r"expected 1 channel.*got 3"):
        net(torch.randn(1, 3, 16, 16))
    with pytest.raises(ValueError, match=r"multiples of 2\*\*depth = 4.*18×16"):
        net(torch.randn(1, 1, 18, 16))
    with pytest.raises(TypeError, match="ndarray"):
        net(torch.randn(1, 1, 16, 16).numpy())


def test_teacher_checkpoint_errors(tmp_path):
    generator = SRResNet(width=4, blocks=1).eval()
    path = save_teacher(tmp_path / "t.pt", generator, {"profile": "quick"})
    teacher = load_teacher(path, expected={"scale": 4})
    x = torch.rand(1, 1, 8, 8)
    assert isinstance(teacher, FrozenTeacher) and torch.equal(teacher(x)[0], generator(x).detach())
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_teacher(tmp_path / "nope.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.pt.*not a readable"):
        load_teacher(tmp_path / "bad.pt")
    torch.save(UNet(width=2, depth=1).state_dict(), tmp_path / "unet.pt")
    with pytest.raises(ValueError, match=TEACHER_FORMAT):
        load_teacher(tmp_path / "unet.pt")
    with pytest.raises(ValueError, match="scale=2.*scale=4"):
        load_teacher(path, expected={"scale": 2})
