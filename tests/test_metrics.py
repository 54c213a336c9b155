"""Metrics against scikit-image and their definitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from physinv.data import images
from physinv.errors import InputError
from physinv.metrics import coverage, dice, iou, psnr, rmse, ssim
from physinv.noise import Gaussian, simulate
from physinv.operators import Convolution, Identity, psf


@pytest.mark.parametrize("name", ["camera", "moon", "coins", "astronaut", "text"])
def test_ssim_and_psnr_match_skimage(name):
    x = images.load(name, dtype=torch.float64)[..., :200, :200]
    blurred = Convolution(psf.gaussian(1.5, 9), x.shape[-2:])(x)
    y = simulate(blurred, Identity(x.shape[-2:]), Gaussian(0.05), seed=1).clamp(0, 1)
    ref_ssim = structural_similarity(x[0, 0].numpy(), y[0, 0].numpy(), data_range=1.0)
    assert abs(float(ssim(y, x)) - ref_ssim) < 1e-3
    assert float(ssim(y.float(), x.float())) == pytest.approx(ref_ssim, abs=1e-3)
    ref_psnr = peak_signal_noise_ratio(x[0, 0].numpy(), y[0, 0].numpy(), data_range=1.0)
    assert float(psnr(y, x)) == pytest.approx(ref_psnr, abs=1e-9)


def test_colour_ssim_matches_skimage_channel_axis():
    x = images.load("astronaut", gray=False, dtype=torch.float64)[..., :128, :128]
    y = (x + 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0),
                                dtype=torch.float64)).clamp(0, 1)
    ref = structural_similarity(x[0].permute(1, 2, 0).numpy(), y[0].permute(1, 2, 0).numpy(),
                                data_range=1.0, channel_axis=-1)
    assert abs(float(ssim(y, x)) - ref) < 1e-3


def test_per_image_values():
    x = torch.zeros(3, 1, 16, 16)
    y = x.clone()
    y[1] += 0.1
    y[2] += 0.01
    values = psnr(y + 1e-12 * 0, x)
    assert values.shape == (3,)
    assert float(values[1]) == pytest.approx(20.0, abs=1e-4)
    assert float(values[2]) == pytest.approx(40.0, abs=1e-3)
    assert float(rmse(y, x)[1]) == pytest.approx(0.1, rel=1e-6)
    assert float(ssim(x + 0.5, x + 0.5)[0]) == pytest.approx(1.0)


def test_dice_iou_coverage():
    a = torch.zeros(1, 1, 4, 4)
    b = torch.zeros(1, 1, 4, 4)
    a[..., :2, :] = 1  # 8 pixels
    b[..., 1:3, :] = 1  # 8 pixels, 4 shared
    assert float(dice(a, b)) == pytest.approx(0.5)
    assert float(iou(a, b)) == pytest.approx(4 / 12)
    assert float(dice(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2))) == 1.0
    g = torch.Generator().manual_seed(0)
    truth = torch.randn(1, 1, 200, 200, generator=g, dtype=torch.float64)
    mean = torch.zeros_like(truth)
    assert float(coverage(mean, torch.ones_like(truth), truth)) == pytest.approx(0.95, abs=0.01)
    assert float(coverage(mean, torch.ones_like(truth), truth, level=0.5)) == pytest.approx(
        0.5, abs=0.02)


def test_bad_input():
    x = torch.zeros(1, 1, 8, 8)
    with pytest.raises(InputError, match="shape"):
        psnr(x, torch.zeros(1, 1, 8, 9))
    with pytest.raises(InputError, match="finite"):
        psnr(x, torch.full((1, 1, 8, 8), np.nan))
    with pytest.raises(InputError, match="data_range"):
        psnr(x, x, data_range=0)
    with pytest.raises(InputError, match="at least 7"):
        ssim(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 5, 5))
    with pytest.raises(InputError, match="level"):
        coverage(x, x, x, level=1.5)
