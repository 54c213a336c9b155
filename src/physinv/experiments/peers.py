"""Other libraries' methods on the same data (scikit-image), as ``fn(y, op, task, param)``.

Each peer receives exactly the measurement our solvers get, as a NumPy array, plus what the
method needs from the same physics (the PSF, the angles). ``GRIDS`` lists the hyper-parameter
each is tuned over on training data; ``None`` means the method has none to tune.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage import restoration, transform


def _np(t: torch.Tensor) -> np.ndarray:
    return t[0, 0].detach().cpu().double().numpy()


def _t(a: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).to(like.dtype)[None, None]


def sk_wiener(y, op, param):
    return _t(restoration.wiener(_np(y), op.psf.numpy(), balance=param), y)


def sk_unsupervised_wiener(y, op, param):
    est, _ = restoration.unsupervised_wiener(_np(y), op.psf.numpy(), rng=0)
    return _t(est, y)


def sk_richardson_lucy(y, op, param):
    return _t(restoration.richardson_lucy(np.clip(_np(y), 0, None), op.psf.numpy(),
                                          num_iter=int(param), clip=False), y)


def sk_tv_chambolle(y, op, param):
    return _t(restoration.denoise_tv_chambolle(_np(y), weight=param), y)


def sk_iradon(y, op, param):
    angles = op.angles.cpu().numpy()
    return _t(transform.iradon(_np(y), angles, circle=True, filter_name=param), y)


def sk_iradon_sart(y, op, param):
    angles = op.angles.cpu().numpy()
    est = None
    sino = _np(y)
    for _ in range(int(param)):
        est = transform.iradon_sart(sino, angles, image=est)
    return _t(est, y)


def sk_bicubic(y, op, param):
    return _t(transform.resize(_np(y), op.in_shape, order=3, mode="reflect"), y)


# task group → [(method name, function, grid or None)]
PEERS = {
    "deblur": [("skimage-wiener", sk_wiener, [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]),
               ("skimage-unsupervised_wiener", sk_unsupervised_wiener, None),
               ("skimage-richardson_lucy", sk_richardson_lucy, [5, 10, 20, 40, 80])],
    "denoise": [("skimage-tv_chambolle", sk_tv_chambolle, [0.03, 0.05, 0.08, 0.1, 0.15, 0.2])],
    "sr_x2": [("skimage-bicubic", sk_bicubic, None)],
    "ct_sparse": [("skimage-iradon", sk_iradon, ["ramp", "shepp-logan", "cosine", "hamming",
                                                  "hann"]),
                  ("skimage-iradon_sart", sk_iradon_sart, [1, 2, 3])],
}


def peers_for(task_name: str):
    group = "deblur" if task_name.startswith("deblur") else task_name
    return PEERS.get(group, [])
