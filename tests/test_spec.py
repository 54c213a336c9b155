"""The operator / noise spec mini-language."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physinv.errors import InputError
from physinv.io import write_image
from physinv.operators import Convolution, Decimation, Identity, Mask, Radon, SuperResolution, psf
from physinv.operators.spec import from_spec


def test_every_kind(tmp_path):
    op = from_spec("blur:gaussian:sigma=2,size=25", (64, 64))
    assert isinstance(op, Convolution) and torch.allclose(op.psf, psf.gaussian(2, 25))
    assert from_spec("blur:motion:length=9,angle=30", (32, 32)).psf.shape == (11, 11)
    assert from_spec("blur:disk:radius=3,boundary=reflect", (32, 32)).boundary == "reflect"
    np.save(tmp_path / "k.npy", np.ones((3, 3)))
    assert torch.allclose(from_spec(f"blur:{tmp_path / 'k.npy'}", (8, 8)).psf.sum(),
                          torch.tensor(1.0, dtype=torch.float64))
    sr = from_spec("sr:gaussian:sigma=1,factor=4", (32, 32))
    assert isinstance(sr, SuperResolution) and sr.out_shape == (8, 8)
    assert isinstance(from_spec("identity", (5, 5)), Identity)
    assert isinstance(from_spec("decimate:factor=2", (8, 8)), Decimation)
    mask = from_spec("mask:ratio=0.3,seed=1", (50, 50))
    assert isinstance(mask, Mask) and abs(float(mask.mask.mean()) - 0.3) < 0.05
    write_image(tmp_path / "m.png", np.eye(6))
    assert float(from_spec(f"mask:{tmp_path / 'm.png'}", (6, 6)).mask.sum()) == 6
    radon = from_spec("radon:angles=60", (32, 32))
    assert isinstance(radon, Radon) and radon.out_shape == (32, 60)


def test_bad_specs():
    with pytest.raises(InputError, match="one of"):
        from_spec("warp:x=1", (8, 8))
    with pytest.raises(InputError, match="PSF name"):
        from_spec("blur", (8, 8))
    with pytest.raises(InputError, match="psf"):
        from_spec("blur:wobble:sigma=1", (8, 8))
    with pytest.raises(InputError, match="valid parameters"):
        from_spec("blur:gaussian:radius=1", (8, 8))
    with pytest.raises(InputError, match="key=value"):
        from_spec("blur:gaussian:sigma=1,=3", (8, 8))
    with pytest.raises(InputError, match="op"):
        from_spec("", (8, 8))
    with pytest.raises(InputError, match="angles"):
        from_spec("radon:angles=0", (8, 8))
    with pytest.raises(InputError, match="ratio"):
        from_spec("mask:ratio=2", (8, 8))


def test_radon_memory_check_follows_the_matrix_free_projector():
    # 1024² × 720 streams its weights (0.6 GB measured): accepted; 10⁷ angles: refused at once
    op = from_spec("radon:angles=720", (1024, 1024))
    assert op.out_shape == (1024, 720)
    with pytest.raises(InputError, match="angles.*10000000"):
        from_spec("radon:angles=10000000", (1024, 1024))
