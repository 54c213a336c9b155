"""Other libraries' methods on the same data, as ``fn(y, op, param)``: scikit-image (always
installed), and DeepInverse and BM3D (the optional extra ``[compare]``, each used when it
imports; BM3D's licence allows non-commercial use only, so it is never a core dependency).

Each peer receives exactly the measurement our solvers get — scikit-image as a NumPy array plus
what the method needs from the same physics (the PSF, the angles); DeepInverse as a tensor with
our operator wrapped as its ``LinearPhysics`` (A and its adjoint), so both libraries solve the
same problem. The third entry of each method is the grid its hyper-parameter is tuned over on
training data (``None``: nothing to tune).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
from skimage import restoration, transform


def _np(t: torch.Tensor) -> np.ndarray:
    return t[0, 0].detach().cpu().double().numpy()


def _t(a: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).to(like.dtype)[None, None]


def sk_wiener(y, op, param):
    """scikit-image's Wiener–Hunt deconvolution, ``restoration.wiener``.

    .. math::

        x̂ = F⁻¹[ conj(ĥ) ĝ / (|ĥ|² + balance · |l̂|²) ]

    with l the Laplacian (scikit-image's default regulariser).

    Parameters
    ----------
    y : torch.Tensor, shape (1, 1, *op.out_shape)
        The measurement (only image 0, channel 0 is used), passed as a float64 array.
    op : LinearOperator
        A ``Convolution``: its ``psf`` is handed to scikit-image.
    param : float
        ``balance``, the regularisation weight (tuned on ``PEERS``' grid).

    Returns
    -------
    torch.Tensor, shape (1, 1, *op.in_shape)
        The estimate (clipped to [−1, 1] by scikit-image's default), in ``y``'s dtype.

    Examples
    --------
    >>> import torch
    >>> from physinv.experiments.protocol import get_task
    >>> op = get_task("deblur_motion").operator((16, 16))
    >>> y = op(torch.rand(1, 1, 16, 16, dtype=torch.float64))
    >>> x = sk_wiener(y, op, 0.01)
    >>> tuple(x.shape), x.dtype
    ((1, 1, 16, 16), torch.float64)
    """
    return _t(restoration.wiener(_np(y), op.psf.numpy(), balance=param), y)


def sk_unsupervised_wiener(y, op, param):
    """scikit-image's unsupervised Wiener–Hunt deconvolution (Gibbs sampling of the
    noise and image precisions), ``restoration.unsupervised_wiener`` with ``rng=0``.

    Parameters
    ----------
    y : torch.Tensor, shape (1, 1, *op.out_shape)
        The measurement (only image 0, channel 0 is used), passed as a float64 array.
    op : LinearOperator
        A ``Convolution``: its ``psf`` is handed to scikit-image.
    param : None
        Unused: nothing to tune.

    Returns
    -------
    torch.Tensor, shape (1, 1, *op.in_shape)
        The posterior-mean estimate (clipped to [−1, 1] by scikit-image's default).
    """
    est, _ = restoration.unsupervised_wiener(_np(y), op.psf.numpy(), rng=0)
    return _t(est, y)


def sk_richardson_lucy(y, op, param):
    """scikit-image's Richardson–Lucy deconvolution, ``restoration.richardson_lucy``.

    .. math::

        x_{k+1} = x_k · H'( g / (H x_k) ),   g = max(y, 0)

    (the iterates are not clipped).

    Parameters
    ----------
    y : torch.Tensor, shape (1, 1, *op.out_shape)
        The measurement (only image 0, channel 0 is used), passed as a float64 array.
    op : LinearOperator
        A ``Convolution``: its ``psf`` is handed to scikit-image.
    param : int
        The number of iterations (tuned on ``PEERS``' grid).

    Returns
    -------
    torch.Tensor, shape (1, 1, *op.in_shape)
        The estimate, in ``y``'s dtype.
    """
    return _t(restoration.richardson_lucy(np.clip(_np(y), 0, None), op.psf.numpy(),
                                          num_iter=int(param), clip=False), y)


def sk_tv_chambolle(y, op, param):
    """scikit-image's total-variation denoising (Chambolle), ``restoration.denoise_tv_chambolle``.

    .. math::

        x̂ = argmin_x ½‖x − y‖² + weight · TV(x)

    Parameters
    ----------
    y : torch.Tensor, shape (1, 1, *op.out_shape)
        The measurement (only image 0, channel 0 is used), passed as a float64 array.
    op : LinearOperator
        Unused (the identity of the denoising task).
    param : float
        ``weight`` (tuned on ``PEERS``' grid).

    Returns
    -------
    torch.Tensor, shape (1, 1, *op.in_shape)
        The estimate, in ``y``'s dtype.
    """
    return _t(restoration.denoise_tv_chambolle(_np(y), weight=param), y)


def sk_iradon(y, op, param):
    """scikit-image's filtered back-projection, ``transform.iradon`` (``circle=True``).

    Parameters
    ----------
    y : torch.Tensor, shape (1, 1, *op.out_shape)
        The measurement (only image 0, channel 0 is used), passed as a float64 array.
    op : LinearOperator
        A ``Radon``: its ``angles`` (degrees) are handed to scikit-image.
    param : str
        ``filter_name``: ramp, shepp-logan, cosine, hamming or hann (tuned).

    Returns
    -------
    torch.Tensor, shape (1, 1, *op.in_shape)
        The estimate, in ``y``'s dtype.
    """
    angles = op.angles.cpu().numpy()
    return _t(transform.iradon(_np(y), angles, circle=True, filter_name=param), y)


def sk_iradon_sart(y, op, param):
    """scikit-image's SART, ``transform.iradon_sart``, run ``param`` times, each pass
    starting from the previous estimate.

    Parameters
    ----------
    y : torch.Tensor, shape (1, 1, *op.out_shape)
        The measurement (only image 0, channel 0 is used), passed as a float64 array.
    op : LinearOperator
        A ``Radon``: its ``angles`` (degrees) are handed to scikit-image.
    param : int
        The number of SART passes (tuned on ``PEERS``' grid).

    Returns
    -------
    torch.Tensor, shape (1, 1, *op.in_shape)
        The estimate, in ``y``'s dtype.
    """
    angles = op.angles.cpu().numpy()
    est = None
    sino = _np(y)
    for _ in range(int(param)):
        est = transform.iradon_sart(sino, angles, image=est)
    return _t(est, y)


def sk_bicubic(y, op, param):
    """Bicubic interpolation of the low-resolution image to the operator's input grid
    (``transform.resize``, order 3, reflect mode): the super-resolution baseline.

    Parameters
    ----------
    y : torch.Tensor, shape (1, 1, *op.out_shape)
        The measurement (only image 0, channel 0 is used), passed as a float64 array.
    op : LinearOperator
        A ``SuperResolution``: only its ``in_shape`` is used.
    param : None
        Unused: nothing to tune.

    Returns
    -------
    torch.Tensor, shape (1, 1, *op.in_shape)
        The estimate, in ``y``'s dtype.

    Examples
    --------
    >>> import torch
    >>> from physinv.experiments.protocol import get_task
    >>> op = get_task("sr_x2").operator((16, 16))
    >>> tuple(sk_bicubic(torch.rand(1, 1, 8, 8), op, None).shape)
    (1, 1, 16, 16)
    """
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
    """The scikit-image methods compared with physinv's on a protocol task.

    Parameters
    ----------
    task_name : str
        A protocol task name; both deblur tasks share the group ``"deblur"``.

    Returns
    -------
    list of (str, callable, list or None)
        ``(method name, fn(y, op, param), grid)`` from ``PEERS`` (grid None: nothing to
        tune); [] for a task without peers.

    Examples
    --------
    >>> [name for name, _, _ in peers_for("deblur_motion")]
    ['skimage-wiener', 'skimage-unsupervised_wiener', 'skimage-richardson_lucy']
    >>> peers_for("unknown")
    []
    """
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
    """DeepInverse's proximal gradient with its TV prior, 100 iterations (see ``_dinv_solve``).

    .. math:: x̂ = argmin_x ½‖Hx − y‖² + λ TV(x),   λ = param · ‖H‖²

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, *op.out_shape)
        The measurement.
    op : LinearOperator
        The forward operator, wrapped as DeepInverse's ``LinearPhysics``.
    param : float
        The weight relative to ‖H‖² (tuned on ``DEEPINV_GRIDS["tv"]``).

    Returns
    -------
    torch.Tensor, shape (B, C, *op.in_shape)
        The estimate. Needs the optional extra ``[compare]`` (``deepinv``).
    """
    return _dinv_solve(y, op, param * op.norm() ** 2, "tv")


def dinv_wavelet(y, op, param):
    """DeepInverse's proximal gradient with its ℓ1 wavelet prior (db4, 3 levels), 100
    iterations (see ``_dinv_solve``).

    .. math:: x̂ = argmin_x ½‖Hx − y‖² + λ ‖W x‖₁,   λ = param · ‖H‖²

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, *op.out_shape)
        The measurement.
    op : LinearOperator
        The forward operator, wrapped as DeepInverse's ``LinearPhysics``.
    param : float
        The weight relative to ‖H‖² (tuned on ``DEEPINV_GRIDS["wavelet"]``).

    Returns
    -------
    torch.Tensor, shape (B, C, *op.in_shape)
        The estimate. Needs the optional extra ``[compare]`` (``deepinv``).
    """
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


BM3D_NOTE = ("BM3D not run: the bm3d package is not installed (pip install bm3d, or the "
             "[compare] extra; its licence allows non-commercial use only)")
BM3D_TASKS = ("denoise", "deblur_gauss", "deblur_motion")
# BM3D-DEB's regularisation weights (Dabov, Foi, Katkovnik & Egiazarian 2008; Mäkinen's
# implementation in the bm3d package): regularised inverse, then regularised Wiener inverse
BM3D_ALPHA_RI = 4e-4
BM3D_ALPHA_RWI = 5e-3
# BM3D's parameter sets tried for deblurring, chosen on the training crops: the package's
# default ("np") and "deb", the parameters of the original BM3D-DEB code
BM3D_DEBLUR_PROFILES = ["np", "deb"]


def bm3d_module():
    """``bm3d`` if it is installed and imports, else None."""
    try:
        import bm3d
    except Exception:  # not installed, or broken beside this NumPy
        return None
    return bm3d


@contextmanager
def numpy_trapz():
    """``with numpy_trapz():`` — ``np.trapz`` exists while the block runs.

    bm3d 4.0.3 (through bm4d) calls ``np.trapz``, which NumPy 2.4 removed in favour of
    ``np.trapezoid``; the alias is added only where it is missing, and removed again after.
    """
    added = not hasattr(np, "trapz")
    if added:
        np.trapz = np.trapezoid
    try:
        yield
    finally:
        if added:
            del np.trapz


def bm3d_denoise(y, op, sigma: float):
    """BM3D denoising with the true noise σ: ``bm3d.bm3d`` (profile ``np``, both stages).

    Parameters
    ----------
    y : torch.Tensor, shape (1, 1, H, W)
        The noisy image (only image 0, channel 0 is used), passed as a float64 array.
    op : LinearOperator
        Unused (the identity of the denoising task).
    sigma : float
        The noise standard deviation (the protocol's, not estimated).

    Returns
    -------
    torch.Tensor, shape (1, 1, H, W)
        The estimate, in ``y``'s dtype. Needs the optional ``bm3d`` package.
    """
    bm3d = bm3d_module()
    with numpy_trapz():
        return _t(bm3d.bm3d(_np(y), sigma), y)


def bm3d_deblur(y, op, sigma: float, profile: str = "np"):
    """BM3D deblurring (BM3D-DEB) for a circular blur, in two stages through ``bm3d.bm3d``.

    With ĥ the operator's Fourier diagonal, ĝ the measurement's DFT and P = σ² H W the
    noise's power spectrum (unnormalised DFT):

    1. regularised inverse ẑ₁ = conj(ĥ) ĝ / (|ĥ|² + α₁ P), α₁ = 4·10⁻⁴, then BM3D's
       hard-thresholding stage on z₁ with its coloured-noise PSD P |conj(ĥ) / (|ĥ|² + α₁ P)|²
       gives the pilot p;
    2. regularised Wiener inverse ẑ₂ = conj(ĥ) |p̂|² ĝ / (|p̂|² |ĥ|² + α₂ P), α₂ = 5·10⁻³, then
       BM3D's Wiener stage on z₂ (its PSD likewise) with the pilot p.

    ``bm3d.bm3d_deblurring`` of bm3d 4.0.3 does this but hands its Wiener stage a 2-D pilot
    where a 3-D one is expected; here the pilot is given as (H, W, 1).

    Parameters
    ----------
    y : torch.Tensor, shape (1, 1, H, W)
        The blurred, noisy image (only image 0, channel 0 is used).
    op : LinearOperator
        A circular ``Convolution`` (``fourier_diagonal``).
    sigma : float
        The noise standard deviation (the protocol's, not estimated).
    profile : str, default "np"
        BM3D's parameter set for both stages (``BM3D_DEBLUR_PROFILES``: ``"np"``, or ``"deb"``,
        those of the original BM3D-DEB code).

    Returns
    -------
    torch.Tensor, shape (1, 1, H, W)
        The estimate, in ``y``'s dtype. Needs the optional ``bm3d`` package.
    """
    bm3d = bm3d_module()
    z = _np(y)[..., None]
    h = op.fourier_diagonal().cpu().numpy()[..., None]
    psd = np.full(z.shape, sigma ** 2 * z.shape[0] * z.shape[1])
    g = np.fft.fft2(z, axes=(0, 1))
    inverse = np.conj(h) / (np.abs(h) ** 2 + BM3D_ALPHA_RI * psd)
    z_ri = np.real(np.fft.ifft2(g * inverse, axes=(0, 1)))
    with numpy_trapz():
        pilot = bm3d.bm3d(z_ri, psd * np.abs(inverse) ** 2, profile,
                          stage_arg=bm3d.BM3DStages.HARD_THRESHOLDING)[..., None]
        power = np.abs(np.fft.fft2(pilot, axes=(0, 1))) ** 2
        wiener_inv = np.conj(h) * power / (power * np.abs(h) ** 2 + BM3D_ALPHA_RWI * psd)
        z_rwi = np.real(np.fft.ifft2(g * wiener_inv, axes=(0, 1)))
        est = bm3d.bm3d(z_rwi, psd * np.abs(wiener_inv) ** 2, profile, stage_arg=pilot)
    return _t(est, y)


def bm3d_peers_for(task_name: str, sigma: float):
    """BM3D for a task: denoise and the two deblurring tasks, with the true σ ([] for other
    tasks, or when bm3d is not installed).

    Denoising uses BM3D's default parameters (profile ``np``): nothing is tuned. Deblurring
    (``bm3d_deblur``) chooses its parameter set on the training crops, like every method's
    hyper-parameter, from ``BM3D_DEBLUR_PROFILES``.

    Parameters
    ----------
    task_name : str
        A protocol task name.
    sigma : float
        The task's noise standard deviation, handed to BM3D.

    Returns
    -------
    list of (str, callable, list or None)
        ``[("bm3d", fn(y, op, param), grid)]``; ``fn.hyper`` is ``{"sigma": sigma}`` and
        ``fn.tuned`` the name of the tuned parameter (``"profile"``), what the rows record.
    """
    if task_name not in BM3D_TASKS or bm3d_module() is None:
        return []
    if task_name == "denoise":
        def fn(y, op, param):
            return bm3d_denoise(y, op, sigma)
        grid = None
    else:
        def fn(y, op, param):
            return bm3d_deblur(y, op, sigma, param)
        grid = list(BM3D_DEBLUR_PROFILES)
    fn.hyper, fn.tuned = {"sigma": sigma}, "profile"
    return [("bm3d", fn, grid)]
