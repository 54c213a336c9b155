r"""Free-form blind deconvolution: a non-negative kernel on a given support, estimated with
the image by alternating minimisation, coarse to fine, then a non-blind TV restoration.

For a kernel k on a support S (kh × kw pixels) and circular convolution, the alternation
decreases

.. math::

    E(u, k) = \tfrac12 \| k \circledast u - g \|^2 + \lambda R(u)
              + \tfrac{\gamma}{2} \|k\|^2,
    \qquad k \ge 0,\ \textstyle\sum_S k = 1,

one block at a time: the *image step* minimises over u (R = ‖∇u‖₀ by half-quadratic
splitting [3]_, or R = TV by warm-started ADMM); the *kernel step* minimises over k in the
gradient domain, ½Σ_c‖k ⊛ ∂_c u − ∂_c g‖² + γ/2‖k‖² (its kh·kw normal matrix is the
autocorrelation of ∇u, built by FFT), by accelerated projected gradient onto the simplex,
followed by the projection Π(k) = max(k − τ max k, 0) / Σ (small entries removed, sum 1).
As Perrone & Favaro [1]_ stress, the details decide between the sharp solution and the
no-blur one (u = g, k = δ): a pyramid (factor √2 on the image and the support, from a 3 × 3
uniform kernel; each level starts from the previous (u, k) upsampled), the kernel re-centred
on its centroid after each step (the blind problem knows k only up to a shift; u is shifted
back with it), and the γ‖k‖² term, which under Σk = 1 favours spread kernels over a spike.
Measured on the protocol's training crops (``benchmarks/blind_psf.py --mode free --images
train``): with R = TV the exact alternation still collapses to k = δ; with R = ‖∇u‖₀,
whose steps keep the edges' contrast, it does not, and it is the default.
The kernel step may use only the strongest edges of u (Cho & Lee's selection per orientation
bin, optionally after Xu & Jia's r-map, ``physinv.solvers.edge_selection``) and drop the
kernel's small connected components; λ may decay along the alternations (Pan et al.).
The final restoration is TV (``physinv.solvers.tv``) with the estimated kernel.

What limits the accuracy, measured on training crops: started from the *true* kernel, the
alternation drifts away from it (relative error 0.1 after one step, 0.3–0.4 after 15): the
L0 image's piecewise-constant bias is taken up by the kernel. A Tikhonov or TV image step
from the L0 estimate drifts to k = δ; a final clean-up (larger threshold, one component) or
a final low-λ L0 pass does not reduce the error either.

Levin et al.'s EM (``Schedule(kernel_update="em")``, ``physinv.solvers.blind_em``: per
level, alternations of the posterior of the sharp gradients given k — no image estimate,
weights from μ² + C — and a k ≥ 0 kernel step with the diagonal covariance Σ C_ii, η
annealed, as their reference code does) is an option, not the default: on the same training
crops (``blind_psf_free-train-20261202T182339.json``, a cross: η ∈ {5e-5, 2e-4, 5e-4, 1e-3}
at α 10, α ∈ {3, 10, 30} at η 2e-4) its row of best restored PSNR (η 2e-4, α 10) has mean
kernel error 0.58 (0.57 at best shift) and TV gap −3.5 dB, against the MAP default's 0.66
(0.57) and −3.2 dB (η 5e-4: error 0.56, −4.8 dB); started from the true kernel on three crops,
one level of 11 EM alternations drifts to 0.45–0.92 (MAP: 0.28–1.08). On the test images once
(``blind_psf_free-test-20261202T182520.json``) it is worse than the MAP default (errors
0.50–1.01, TV gap −1.8 … −13.3 dB).

The default schedule (prior, λ, γ, τ, iterations per level, edge selection) was chosen on
training crops blurred by linear motion, never on the test images: ``benchmarks/blind_psf.py
--mode free --images train`` (6 crops × motion 9 px 30°, 11 px 120°, 7 px −60°;
``blind_psf_free-train-20261202T051907.json``): ``edge_r`` 1, γ 0.1 has the best restored
PSNR (mean gap to known-PSF TV −3.2 dB) and a mean kernel error of 0.57, as good as the
best of the grid (0.56; no edge selection, γ 0.1: 0.60, −4.1 dB).

References
----------
.. [1] D. Perrone, P. Favaro, "Total variation blind deconvolution: the devil is in the
   details", CVPR 2014.
.. [2] T. F. Chan, C.-K. Wong, "Total variation blind deconvolution", IEEE TIP 7(3), 1998.
.. [3] L. Xu, S. Zheng, J. Jia, "Unnatural L0 sparse representation for natural image
   deblurring", CVPR 2013; J. Pan, Z. Hu, Z. Su, M.-H. Yang, "Deblurring text images via
   L0-regularized intensity and gradient prior", CVPR 2014.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from physinv.errors import InputError
from physinv.operators.blur import embed_centered
from physinv.solvers.blind_em import posterior_gradients
from physinv.solvers.edge_selection import clean_kernel, r_map, select_edges


@dataclass(frozen=True)
class Schedule:
    """The coarse-to-fine schedule of ``estimate_kernel`` (defaults chosen on training crops).

    Parameters
    ----------
    prior : {"l0", "tv"}
        The image step's regulariser: ‖∇u‖₀ (half-quadratic splitting) or TV (ADMM).
    lam : float
        Its weight λ at full resolution (images in [0, 1]).
    lam_factor, lam_max : float
        λ is multiplied by ``lam_factor`` at each coarser level, up to ``lam_max``.
    lam_decay, lam_min : float
        With ``lam_decay`` < 1, λ starts at ``lam`` on the coarsest level and is multiplied
        by ``lam_decay`` after every alternation, down to ``lam_min``, across the levels
        (Pan et al.); ``lam_factor`` is then ignored.
    n_iter : int
        Alternations (image step, kernel step) per level.
    n_image : int
        ADMM iterations of a TV image step (warm-started).
    n_kernel : int
        Accelerated projected gradient steps of a kernel step.
    kernel_reg : float
        γ of the kernel step's γ‖k‖², relative to the mean diagonal of its normal matrix.
    threshold : float
        After each kernel step, entries below ``threshold`` · max k are set to 0.
    scale : float
        The pyramid's factor between levels (√2).
    edge_r : float
        Edge selection (``physinv.solvers.edge_selection``): the kernel step uses only the
        ``edge_r``·√(P_I P_K) pixels of largest ‖∇u‖ per orientation bin (0: every pixel).
    edge_growth : float
        That number is multiplied by ``edge_growth`` at each alternation of a level.
    r_threshold : float
        Pixels whose r-map (Xu & Jia) of the level's g is below it are excluded (0: none).
    component_mass : float
        After a kernel step, connected components under this fraction of the mass are
        dropped (0: kept).
    kernel_update : {"map", "em"}
        ``"em"``: each level runs Levin et al.'s EM instead of the image / kernel
        alternation — ``n_iter`` pairs of the E-step of ``physinv.solvers.blind_em``
        (posterior of the sharp gradients given k, no image estimate) and a k ≥ 0 kernel
        step on its mean with Σ C_ii added to the normal matrix (to γ's term: set
        ``kernel_reg`` 0 for Σ C_ii alone), η annealed; the image step runs once at the
        level's end (the next level's start). Edge selection and the r-map are not used.
    em_eta, em_alpha, em_cg, em_passes, em_anneal : float, float, int, int, float
        The E-step's final gradient noise variance η, Laplacian weight α, CG iterations per
        pass, re-weighting passes, and the annealing factor of η's standard deviation per
        alternation.
    """

    prior: str = "l0"
    lam: float = 1e-3
    lam_factor: float = 1.0
    lam_max: float = 1e-2
    lam_decay: float = 1.0
    lam_min: float = 1e-4
    n_iter: int = 15
    n_image: int = 10
    n_kernel: int = 100
    kernel_reg: float = 0.1
    threshold: float = 0.05
    scale: float = math.sqrt(2.0)
    edge_r: float = 1.0
    edge_growth: float = 1.0
    r_threshold: float = 0.0
    component_mass: float = 0.0
    kernel_update: str = "map"
    em_eta: float = 2e-4
    em_alpha: float = 10.0
    em_cg: int = 15
    em_passes: int = 3
    em_anneal: float = 1.15


def _odd(value: float, smallest: int = 3) -> int:
    n = int(round(value))
    n = n if n % 2 == 1 else n - 1
    return max(n, smallest)


def pyramid(shape, size, scale: float = math.sqrt(2.0)) -> list[tuple[tuple, tuple]]:
    """The levels (image shape, kernel support) from the coarsest to the full resolution.

    The support shrinks by ``scale`` per level (odd sizes, at least 3) and the image with it.

    Parameters
    ----------
    shape : (int, int)
        The image shape (H, W).
    size : (int, int)
        The kernel support (kh, kw), odd.
    scale : float
        The factor between levels.

    Returns
    -------
    list of ((h, w), (kh, kw))

    Examples
    --------
    >>> pyramid((64, 64), (9, 9))
    [((21, 21), (3, 3)), ((36, 36), (5, 5)), ((64, 64), (9, 9))]
    """
    levels = [(tuple(shape), tuple(size))]
    while max(levels[-1][1]) > 3:
        (h, w), (kh, kw) = levels[-1]
        nkh, nkw = _odd(kh / scale), _odd(kw / scale)
        if (nkh, nkw) == (kh, kw):
            nkh, nkw = max(kh - 2, 3), max(kw - 2, 3)
        ratio = max(nkh / size[0], nkw / size[1])
        levels.append(((max(round(shape[0] * ratio), nkh), max(round(shape[1] * ratio), nkw)),
                       (nkh, nkw)))
    return levels[::-1]


def _resize(x: torch.Tensor, shape) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(shape):
        return x
    down = shape[0] < x.shape[-2]
    return F.interpolate(x, size=tuple(shape), mode="bilinear", align_corners=False,
                         antialias=down)


def _project(k: torch.Tensor) -> torch.Tensor:
    """Π(k) = max(k, 0) / Σ max(k, 0) (uniform where nothing positive is left)."""
    k = k.clamp_min(0)
    total = k.sum()
    return k / total if total > 0 else torch.full_like(k, 1.0 / k.numel())


def _resize_kernel(k: torch.Tensor, size) -> torch.Tensor:
    return _project(_resize(k[None, None], size)[0, 0])


def _correlate(r_hat: torch.Tensor, u_hat: torch.Tensor, size, shape) -> torch.Tensor:
    """(U'r)_j = Σ_i r_i u_{i−j} on the centred support ``size``, summed over the batch."""
    corr = torch.fft.irfft2(r_hat * u_hat.conj(), s=tuple(shape)).sum(dim=(0, 1))
    corr = torch.roll(corr, shifts=(size[0] // 2, size[1] // 2), dims=(0, 1))
    return corr[: size[0], : size[1]]


def _simplex(v: torch.Tensor) -> torch.Tensor:
    """The Euclidean projection of a vector onto {k ≥ 0, Σ k = 1} (Held et al. 1974)."""
    srt, _ = torch.sort(v, descending=True)
    cum = torch.cumsum(srt, 0) - 1.0
    ind = torch.arange(1, v.numel() + 1, dtype=v.dtype)
    rho = int(torch.nonzero(srt - cum / ind > 0)[-1]) + 1
    return (v - cum[rho - 1] / rho).clamp_min(0)


def _differences(u: torch.Tensor) -> list[torch.Tensor]:
    """Circular forward differences (∂_y u, ∂_x u)."""
    return [torch.roll(u, -1, -2) - u, torch.roll(u, -1, -1) - u]


def _kernel_system(g_grads, u_grads, size) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, b) with ½ Σ_c ‖k ⊛ p_c − ∂_c g‖² = ½k'Ak − b'k + const on the support, p_c the
    (selected) gradients of u: A_{jj'} = R(j − j'), R the autocorrelation of p,
    b_j = Σ_c Σ_i ∂_c g_i p_{c, i−j} (both by FFT; the batch shares k)."""
    shape = tuple(g_grads[0].shape[-2:])
    kh, kw = size
    power, cross = 0.0, 0.0
    for u_c, g_c in zip(u_grads, g_grads, strict=True):
        u_hat, g_hat = torch.fft.rfft2(u_c), torch.fft.rfft2(g_c)
        power = power + (u_hat.abs() ** 2).sum(dim=(0, 1))
        cross = cross + _correlate(g_hat, u_hat, size, shape)
    auto = torch.fft.irfft2(power, s=shape)
    oy = torch.arange(kh).repeat_interleave(kw)
    ox = torch.arange(kw).repeat(kh)
    a = auto[(oy[:, None] - oy[None, :]) % shape[0], (ox[:, None] - ox[None, :]) % shape[1]]
    return a, cross.reshape(-1)


def _kernel_step(g_grads, u_grads, k, schedule: Schedule, extra: float = 0.0,
                 simplex: bool = True) -> torch.Tensor:
    """min_k ½ Σ_c ‖k ⊛ p_c − ∂_c g‖² + γ/2 ‖k‖² on the simplex of the support
    (accelerated projected gradient from k on the explicit kh·kw system), then the entries
    below ``threshold`` · max k zeroed, small components dropped, sum 1; ``extra`` is
    added to the diagonal (the EM step's Σ C_ii). ``simplex=False`` (the EM step): k ≥ 0
    only, no clean-up (the level normalises and cleans at its end, as Levin et al.)."""
    a, b = _kernel_system(g_grads, u_grads, k.shape)
    a = a + (schedule.kernel_reg * float(a.diagonal().mean()) + extra) * torch.eye(
        a.shape[0], dtype=a.dtype)
    lip = float(torch.linalg.eigvalsh(a)[-1])
    if not lip > 0:
        return k
    project = _simplex if simplex else (lambda v: v.clamp_min(0))
    x = k.reshape(-1)
    z, t = x, 1.0
    for _ in range(schedule.n_kernel):
        new = project(z - (a @ z - b) / lip)
        t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
        z = new + (t - 1) / t_new * (new - x)
        x, t = new, t_new
    if not simplex:
        return x.reshape(k.shape) if float(x.sum()) > 0 else k
    return clean_kernel(x.reshape(k.shape), schedule.threshold, schedule.component_mass)


def _l0_image(g, k, lam: float, d2, beta_max: float = 1e5):
    """argmin_u ½‖k ⊛ u − g‖² + λ‖∇u‖₀ by half-quadratic splitting (w ≈ ∇u, β doubling)."""
    shape = tuple(g.shape[-2:])
    k_hat = torch.fft.rfft2(embed_centered(k, shape))
    g_hat = torch.fft.rfft2(g)
    num0 = k_hat.conj() * g_hat
    u, beta = g, 2 * lam
    while beta < beta_max:
        dy, dx = _differences(u)
        keep = (dy**2 + dx**2) >= lam / beta
        dy, dx = dy * keep, dx * keep
        div = (torch.roll(dy, 1, -2) - dy) + (torch.roll(dx, 1, -1) - dx)  # D'w
        u = torch.fft.irfft2((num0 + beta * torch.fft.rfft2(div)) / (
            k_hat.abs() ** 2 + beta * d2 + 1e-12), s=shape)
        beta *= 2
    return u


def _image_step(g, u, k, lam: float, schedule: Schedule, d2) -> torch.Tensor:
    from physinv.operators import Convolution
    from physinv.solvers.tv import tv

    if schedule.prior == "l0":
        return _l0_image(g, k, lam, d2)
    return tv(g, Convolution(k, tuple(g.shape[-2:])), lam=lam, n_iter=schedule.n_image,
              tol=None, x0=u).x


def _level(g: torch.Tensor, u: torch.Tensor, k: torch.Tensor, lam: float,
           schedule: Schedule) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    """One level; returns (u, k, ½‖k ⊛ u − g‖², the λ reached).

    ``kernel_update="map"``: ``schedule.n_iter`` alternations (image step, kernel step on the
    selected edges, re-centring). ``"em"``: the kernel by ``_em_alternations`` (Levin et al.'s
    EM, on the measurement's gradients alone), then one image step for the next level."""
    from physinv.operators import Gradient

    shape = tuple(g.shape[-2:])
    d2 = Gradient(shape).fourier_power(rfft=True).to(g.dtype)
    g_grads = _differences(g)
    if schedule.kernel_update == "em":
        k = _em_alternations(g_grads, k, schedule)
        u = _image_step(g, u, k, lam, schedule, d2)
    else:
        u, k, lam = _map_alternations(g, g_grads, u, k, lam, schedule, d2)
    k_hat = torch.fft.rfft2(embed_centered(k, shape))
    r = torch.fft.irfft2(k_hat * torch.fft.rfft2(u), s=shape) - g
    return u, k, 0.5 * float((r**2).sum()), lam


def _map_alternations(g, g_grads, u, k, lam, schedule: Schedule, d2):
    """``n_iter`` (image step, kernel step on the selected edges of u, re-centring) pairs;
    returns (u, k, λ reached)."""
    mask = None
    if schedule.r_threshold > 0:
        mask = (r_map(g) >= schedule.r_threshold).to(g.dtype)
    count = schedule.edge_r * math.sqrt(g[0, 0].numel() * k.numel())
    for _ in range(schedule.n_iter):
        u = _image_step(g, u, k, lam, schedule, d2)
        if schedule.lam_decay < 1:
            lam = max(lam * schedule.lam_decay, schedule.lam_min)
        u_grads = _differences(u)
        if count > 0:
            keep = select_edges(*u_grads, count, mask)
            u_grads = [c * keep for c in u_grads]
            count *= schedule.edge_growth
        k = _kernel_step(g_grads, u_grads, k, schedule, 0.0)
        # (k, u) and (k shifted by s, u shifted by −s) blur alike: keep k centred
        sy, sx = _centroid_shift(k)
        if sy or sx:
            k, u = _shift(k, sy, sx), torch.roll(u, (-sy, -sx), (-2, -1))
    return u, k, lam


def _em_alternations(g_grads, k: torch.Tensor, schedule: Schedule) -> torch.Tensor:
    """One level of Levin et al.'s EM: ``n_iter`` (E-step, non-negative kernel step) pairs
    with η annealed geometrically from ``em_anneal``^(2(n − 1)) η to η (their reference
    code: σ · 1.15^t, t = 10 … 0), no image step, no edge selection; then k normalised,
    cleaned (``threshold``, ``component_mass``) and re-centred."""
    n = schedule.n_iter
    for t in range(n):
        eta = schedule.em_eta * schedule.em_anneal ** (2 * (n - 1 - t))
        means, csum = posterior_gradients(g_grads, k, eta, schedule.em_alpha,
                                          n_pass=schedule.em_passes, n_cg=schedule.em_cg)
        k = _kernel_step(g_grads, means, k, schedule, csum, simplex=False)
    k = clean_kernel(_project(k), schedule.threshold, schedule.component_mass)
    return recenter(k)


def _centroid_shift(k: torch.Tensor) -> tuple[int, int]:
    """The whole-pixel shift that brings the centroid of ``k`` nearest its support's centre."""
    kh, kw = k.shape
    total = k.sum()
    cy = float((k.sum(1) * torch.arange(kh, dtype=k.dtype)).sum() / total)
    cx = float((k.sum(0) * torch.arange(kw, dtype=k.dtype)).sum() / total)
    return round(kh // 2 - cy), round(kw // 2 - cx)


def recenter(k: torch.Tensor) -> torch.Tensor:
    """``k`` shifted by whole pixels so that its centroid is nearest its support's centre.

    Parameters
    ----------
    k : torch.Tensor, shape (kh, kw)
        A non-negative kernel.

    Returns
    -------
    torch.Tensor, shape (kh, kw)
        The shifted kernel (mass shifted out of the support is dropped, the rest renormalised).

    Examples
    --------
    >>> import torch
    >>> k = torch.zeros(5, 5); k[0, 1] = 1.0
    >>> torch.nonzero(recenter(k)).tolist()
    [[2, 2]]
    """
    return _shift(k, *_centroid_shift(k))


def _shift(k: torch.Tensor, sy: int, sx: int) -> torch.Tensor:
    kh, kw = k.shape
    out = torch.zeros_like(k)
    src = k[max(-sy, 0): kh - max(sy, 0), max(-sx, 0): kw - max(sx, 0)]
    out[max(sy, 0): max(sy, 0) + src.shape[0], max(sx, 0): max(sx, 0) + src.shape[1]] = src
    return _project(out)


def _check(y, size, boundary: str) -> tuple[torch.Tensor, tuple[int, int]]:
    from physinv.solvers.blind import _check_measurement

    y = _check_measurement(y)
    if boundary not in ("circular", "reflect"):
        raise InputError("boundary", boundary, "'circular' or 'reflect'")
    try:
        pair = (int(size), int(size)) if not isinstance(size, (tuple, list)) else tuple(
            int(s) for s in size)
    except (TypeError, ValueError):
        raise InputError("size", size, "the kernel support: an odd integer ≥ 3 "
                         "(or a pair)") from None
    if len(pair) != 2 or min(pair) < 3 or any(s % 2 == 0 for s in pair):
        raise InputError("size", size, "the kernel support: odd integers ≥ 3")
    h, w = y.shape[-2:]
    if pair[0] * 2 > h or pair[1] * 2 > w:
        raise InputError("size", size, f"a support at most half the image ({h}×{w})",
                         "a kernel as large as the image cannot be told from the image")
    return y, pair


def estimate_kernel(y: torch.Tensor, size, *, schedule: Schedule | None = None,
                    boundary: str = "circular", restore_lam: float | None = None,
                    restore_iter: int = 300):
    """Estimate a free-form blur kernel on a ``size`` support from ``y``, then restore.

    See the module docstring for the energy, the alternating steps and the pyramid.

    Parameters
    ----------
    y : torch.Tensor, shape (B, C, H, W)
        The blurred, noisy measurement(s) in [0, 1] (several images share the kernel).
    size : int or (int, int)
        The kernel support (odd, ≥ 3, at most half the image): an upper bound of the blur's
        extent, not estimated.
    schedule : Schedule, optional
        λ schedule, iterations, steps (default: the one chosen on training crops).
    boundary : {"circular", "reflect"}
        ``"reflect"`` for photographs: the kernel is estimated on the periodic component of y
        (``physinv.solvers.blind.periodic_component``) and the restoration uses reflected
        borders.
    restore_lam : float, optional
        The final TV restoration's λ (default 1e-3, see Notes).
    restore_iter : int
        Iterations of the final restoration.

    Returns
    -------
    PSFEstimate
        ``kind="free"``, ``params={"size": kh}`` (no std: the kernel has no parametric
        uncertainty), ``psf`` the kernel (kh, kw), ``noise_var`` the final residual's mean
        square, ``criterion`` the energy at the end of each level (``grid``: the level's
        support), ``restored`` the non-blind TV restoration and ``seconds``.

    Raises
    ------
    InputError
        For a non-finite or constant measurement, a support that is even, below 3 or larger
        than half the image, an unknown prior.

    Notes
    -----
    The restoration's λ is in data units per unit gradient, as ``tv``'s; the default 1e-3
    is the protocol's TV weight for deblur_motion (λ/‖H‖² chosen on training crops, with
    ‖H‖ = 1 for a non-negative kernel summing to 1). The support should bound the blur's
    extent with a margin, and not by much more: a support far larger than the blur leaves
    room for spurious mass.

    Examples
    --------
    >>> import torch
    >>> from physinv.operators import Convolution, psf
    >>> gen = torch.Generator().manual_seed(0)
    >>> x = (torch.rand(1, 1, 64, 64, generator=gen, dtype=torch.float64) > 0.97).double()
    >>> x = Convolution(psf.box(3), (64, 64))(x).clamp(0, 1)
    >>> est = estimate_kernel(Convolution(psf.motion(5, 0), (64, 64))(x), 9)
    >>> tuple(est.psf.shape), round(float(est.psf.sum()), 6)
    ((9, 9), 1.0)
    """
    from physinv.operators import Convolution
    from physinv.solvers.blind import PSFEstimate, periodic_component
    from physinv.solvers.tv import tv

    y, size = _check(y, size, boundary)
    schedule = schedule or Schedule()
    if schedule.prior not in ("l0", "tv"):
        raise InputError("schedule.prior", schedule.prior, "'l0' or 'tv'")
    if schedule.kernel_update not in ("map", "em"):
        raise InputError("schedule.kernel_update", schedule.kernel_update, "'map' or 'em'")
    start = time.perf_counter()
    g_full = y.to(torch.float64)
    if boundary == "reflect":
        g_full = periodic_component(g_full)
    levels = pyramid(tuple(g_full.shape[-2:]), size, schedule.scale)
    k = torch.full(levels[0][1], 1.0 / (levels[0][1][0] * levels[0][1][1]),
                   dtype=torch.float64)
    u = _resize(g_full, levels[0][0])
    criterion = {"grid": [], "value": [], "lam": []}
    lam = schedule.lam
    for depth, (shape, ksize) in enumerate(levels):
        if schedule.lam_decay >= 1:
            lam = min(schedule.lam * schedule.lam_factor ** (len(levels) - 1 - depth),
                      schedule.lam_max)
        g = _resize(g_full, shape)
        u = _resize(u, shape)
        k = _resize_kernel(k, ksize)
        criterion["lam"].append(lam)
        u, k, energy, lam = _level(g, u, k, lam, schedule)
        criterion["grid"].append(int(ksize[0]))
        criterion["value"].append(energy)
    k = recenter(k)
    op = Convolution(k, tuple(y.shape[-2:]), boundary=boundary)
    lam_r = 1e-3 if restore_lam is None else float(restore_lam)
    restored = tv(y.to(torch.float64), op, lam=lam_r, n_iter=restore_iter).x
    noise_var = float(((op(restored) - y.to(torch.float64)) ** 2).mean())
    return PSFEstimate("free", {"size": int(size[0])}, {}, k, noise_var, float("nan"),
                       float("nan"), criterion, [], restored=restored,
                       seconds=time.perf_counter() - start, boundary=boundary)
