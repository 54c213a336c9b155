"""Other libraries' methods on the same data, as ``fn(y, op, param)``: scikit-image (always
installed) and DeepInverse (the optional extra ``[compare]``, used when it imports).

Each peer receives exactly the measurement our solvers get — scikit-image as a NumPy array plus
what the method needs from the same physics (the PSF, the angles); DeepInverse as a tensor with
our operator wrapped as its ``LinearPhysics`` (A and its adjoint), so both libraries solve the
same problem. The third entry of each method is the grid its hyper-parameter is tuned over on
training data (``None``: nothing to tune).
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


def deepinv_module():
    """``deepinv`` if it is installed and imports beside this torch, else None."""
    try:
        import deepinv
    except Exception:  # not installed, or its torchvision does not match this torch
        return None
    return deepinv


def _dinv_solve(y, op, lam: float, prior: str, n_iter: int = 100):
    """DeepInverse's proximal gradient (PGD) on ½‖Hx − y‖² + λ R(x), step 1/‖H‖², from
    H'y / ‖H‖², with R its TV prior (prox by 20 inner iterations) or its ℓ1 wavelet prior
    (db4, 3 levels)."""
    dinv = deepinv_module()
    physics = dinv.physics.LinearPhysics(
        A=lambda x, **_: op(x, check=False), A_adjoint=lambda v, **_: op.adjoint(v, check=False))
    reg = dinv.optim.TVPrior(n_it_max=20) if prior == "tv" else dinv.optim.WaveletPrior(
        level=3, wv="db4")
    model = dinv.optim.optim_builder(
        iteration="PGD", prior=reg, data_fidelity=dinv.optim.data_fidelity.L2(),
        params_algo={"stepsize": 1.0 / op.norm() ** 2, "lambda": lam}, max_iter=n_iter,
        early_stop=False)
    with torch.no_grad():  # start from H'y / ‖H‖² (its default H'y is off in scale for CT)
        return model(y, physics, init=op.adjoint(y, check=False) / op.norm() ** 2)


def dinv_tv(y, op, param):  # λ relative to ‖H‖², as for physinv's tv
    return _dinv_solve(y, op, param * op.norm() ** 2, "tv")


def dinv_wavelet(y, op, param):
    return _dinv_solve(y, op, param * op.norm() ** 2, "wavelet")


DEEPINV_GRIDS = {
    "tv": {"denoise": [0.02, 0.04, 0.06, 0.08, 0.12], "ct_sparse": [1e-4, 3e-4, 1e-3, 3e-3],
           "sr_x2": [3e-4, 1e-3, 3e-3, 1e-2], "deblur": [3e-4, 1e-3, 2e-3, 4e-3, 8e-3]},
    "wavelet": {"denoise": [0.02, 0.05, 0.1, 0.2], "ct_sparse": [1e-4, 3e-4, 1e-3, 3e-3],
                "sr_x2": [1e-3, 3e-3, 1e-2, 3e-2], "deblur": [1e-3, 3e-3, 1e-2, 3e-2]},
}


def deepinv_peers_for(task_name: str):
    """DeepInverse methods for a task ([] when DeepInverse is not available)."""
    if deepinv_module() is None:
        return []
    group = "deblur" if task_name.startswith("deblur") else task_name
    return [("deepinv-pgd-tv", dinv_tv, DEEPINV_GRIDS["tv"][group]),
            ("deepinv-pgd-wavelet", dinv_wavelet, DEEPINV_GRIDS["wavelet"][group])]
