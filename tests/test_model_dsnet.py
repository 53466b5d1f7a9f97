"""Fast checks of dsnet.networks.fusion, dsnet.networks.adversarial and dsnet.networks.model at tiny sizes (the notebooks 08-10 hold the full ones)."""
import math

import pytest
import torch

from dsnet.networks.adversarial import LossConfig, PixelDiscriminator, adversarial_step, dice_loss, discriminator_loss, soft_mask_loss, total_loss
from dsnet.core import get_profile
from dsnet.networks.fusion import SDRFM, area_downsample_logits
from dsnet.networks.model import DSNetConfig, build_discriminator, build_model, make_optimizers, table3_configs
from dsnet.networks.size import count_macs
from dsnet.networks.srgan import SRResNet

TINY = get_profile("quick").replace(width=4, depth=2, cbam_reduction=2, disc_width=4, sr_width=4, sr_blocks=1)


@pytest.fixture(scope="module")
def teacher():
    torch.manual_seed(0)
    return SRResNet(1, TINY.sr_width, TINY.sr_blocks, TINY.sr_scale)


@pytest.mark.parametrize("resolution", ["sr", "label"])
def test_every_table3_row_builds_and_keeps_the_label_size(teacher, resolution):
    rows = table3_configs(TINY, resolution=resolution)
    assert len(rows) == 7 and rows["+ GAN loss (DSNet)"] == DSNetConfig.from_profile(TINY, resolution=resolution)
    for name, cfg in rows.items():
        model = build_model(cfg, teacher)
        for side in (16, 24):
            assert model(torch.randn(2, 1, side, side)).shape == (2, 1, side, side), name
        assert not any(p.requires_grad for p in (model.teacher.parameters() if model.teacher else []))


def test_bad_input_is_refused_with_expected_and_given(teacher):
    cfg = DSNetConfig.from_profile(TINY, resolution="label")
    with pytest.raises(ValueError, match="needs the SR teacher"):
        build_model(cfg)
    model = build_model(cfg, teacher)
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\).*\(1, 2, 16, 16\)"):
        model(torch.randn(1, 2, 16, 16))
    with pytest.raises(ValueError, match="multiples of 4.*18×16"):
        model(torch.randn(1, 1, 18, 16))
    with pytest.raises(ValueError, match="detail"):
        DSNetConfig(detail="selective")
    with pytest.raises(ValueError, match="expected ×4"):
        build_model(cfg, SRResNet(1, 4, 1, scale=2))


def test_losses_on_hand_computed_cases():
    pred = torch.tensor([[1.0, 0.0], [1.0, 0.0]]).view(1, 1, 2, 2)
    truth = torch.tensor([[1.0, 1.0], [0.0, 0.0]]).view(1, 1, 2, 2)
    assert math.isclose(dice_loss(pred, truth).item(), 0.5, abs_tol=1e-6)          # 1 - 2·1/(2+2)
    assert math.isclose(soft_mask_loss(pred, truth).item(), 0.5, abs_tol=1e-6)     # two of four pixels differ by 1
    zero = torch.zeros(1, 1, 2, 2)
    assert math.isclose(discriminator_loss(zero, zero).item(), 2 * math.log(2), rel_tol=1e-6)
    out = total_loss(pred, truth, truth, LossConfig(), fake_logits=zero)
    assert math.isclose(out["total"].item(), 0.5 * 0.5 + 100 * 0.5 + math.log(2), rel_tol=1e-5)


def test_area_downsampling_and_selection_weights():
    logits = torch.full((1, 1, 4, 4), -30.0); logits[..., :2, :] = 30.0
    assert math.isclose(torch.sigmoid(area_downsample_logits(logits, 4)).item(), 0.5, abs_tol=1e-5)
    fusion = SDRFM(feature_channels=3, channels=5)
    assert fusion(torch.randn(2, 1, 4, 4), torch.randn(2, 1, 16, 16), torch.randn(2, 3, 16, 16)).shape == (2, 5, 16, 16)
    assert torch.allclose(fusion.last_selection_weights.sum(1), torch.ones(2, 5))


def test_count_macs_by_hand():
    conv = torch.nn.Conv2d(2, 3, 3, padding=1)
    assert count_macs(conv, torch.randn(1, 2, 5, 5))["total"] == 25 * 3 * 2 * 9


def test_one_adversarial_step_updates_model_and_discriminator(teacher):
    torch.manual_seed(0)
    cfg = DSNetConfig.from_profile(TINY, resolution="label")
    model, disc = build_model(cfg, teacher), build_discriminator(cfg)
    assert isinstance(disc, PixelDiscriminator)
    opt_g, opt_d = make_optimizers(model, disc, lr=1e-3)
    soft = torch.zeros(1, 1, 16, 16); soft[..., 4:12, 4:12] = 1.0
    batch = {"image": soft + 0.1 * torch.randn_like(soft), "mask": soft, "soft": soft}
    model_before = [p.detach().clone() for p in model.trainable_parameters()]
    disc_before = [p.detach().clone() for p in disc.parameters()]
    teacher_before = [p.detach().clone() for p in teacher.parameters()]
    losses = adversarial_step(model, disc, batch, opt_g, opt_d, cfg.loss_config())
    assert set(losses) == {"seg", "soft", "gan", "aux", "disc", "total"} and losses["aux"] == 0
    # every trainable weight of the model and of the discriminator moved (Adam's first step moves each by about lr)
    assert all(not torch.equal(a, b) for a, b in zip(model_before, model.trainable_parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(disc_before, disc.parameters()))
    # the frozen teacher neither moved nor received a gradient
    assert all(torch.equal(a, b) for a, b in zip(teacher_before, teacher.parameters()))
    assert all(p.grad is None for p in teacher.parameters())


@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear", "nearest"])
def test_every_interpolation_setting_runs(teacher, interpolation):
    cfg = DSNetConfig.from_profile(TINY, detail="edrfm", interpolation=interpolation)
    assert build_model(cfg, teacher)(torch.randn(1, 1, 16, 16)).shape == (1, 1, 16, 16)
    with pytest.raises(ValueError, match="interpolation='cubic'.*bicubic"):
        cfg.replace(interpolation="cubic")
