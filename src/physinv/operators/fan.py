"""Fan-beam CT with a flat detector (exact adjoint, memory O(image + sinogram)), its FBP for
full and short scans (Parker weights).

Geometry (ASTRA's ``fanflat``, in pixel units): the rotation centre is the pixel
``c = (H // 2, W // 2)``, x points right and y down. At view angle β (degrees) the detector axis
is ``e_u = (cos β, −sin β)`` — the direction of ``Radon``'s detector at θ = β — and
``e_n = (sin β, cos β)`` points from the source to the detector. The source is at
``S = −D_so e_n``, the flat detector's bin k at ``S + D_sd e_n + u_k e_u`` with
``u_k = (k − (n − 1) / 2) · du``; the ray to bin k leaves the central ray at the fan angle
γ_k = atan(u_k / D_sd). A full scan covers 360°; a **short scan** covers an arc of at least
180° + the full fan angle 2γ_m (γ_m = asin(r / D_so), r the object circle's radius:
``op.minimum_arc``), and ``fan_fbp`` reads which one it is from the angles.

Each ray is sampled at about one pixel spacing across the object circle (``n_samples``
points, ``step`` apart) and the image interpolated bilinearly — the line-integral model of
``skimage.transform.radon`` — so ``(A f)(k, β) = step · Σ_s Σ_corners w f``; the adjoint
scatters with the same weights, an exact transpose. On a Gaussian blob the projections agree
with the analytic line integrals to < 1 % (see the tests).

Symmetries: a grid symmetry M (the eight rotations by 90° and flips about c) maps the view β
onto a view β₀ ∈ [0°, 45°] with the detector kept or flipped,
``(A f)(u, β) = (A (f∘M))(±u, β₀)``, exactly (the samples map onto each other and bilinear
interpolation commutes with M). On the CPU only those canonical views are computed, as SciPy
CSR blocks (rows: view × bin, columns: the domain's pixels), applied to the up to eight
permuted copies of the image at once; elsewhere (CUDA) torch gathers and scatters per block
of the requested views (``op._backend``: "symmetric" or "direct"; both give the same result).
**The memory rule** (as ``Radon``'s): when the canonical views' entries, 12 bytes each (a
float64 weight, an int32 column; ``op.cache_bytes``, counted before zero weights are
dropped) fit in ``cache_bytes`` (default ``radon.CACHE_BYTES``, 768 MiB: 512² × 360 views,
601 MB, is cached; 1024² × 720, 4.8 GB, is streamed), the blocks computed by the first
application are kept (``op.cached``); otherwise they are recomputed per block at each
application. Memory is O(H·W + sinogram + one block) when streamed.

>>> import torch
>>> from physinv.operators import dot_test
>>> from physinv.operators.fan import FanBeam
>>> op = FanBeam((24, 24), torch.arange(0, 360, 10.0), source_distance=40, detector_distance=80)
>>> op.out_shape, dot_test(op) < 1e-10, round(op.minimum_arc, 2)
((27, 36), True, 214.92)
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sparse
import torch

from physinv.errors import InputError, check_int, check_positive, check_shape
from physinv.operators.base import LinearOperator
from physinv.operators.radon import CACHE_BYTES, FILTERS, BackProjection, Projection, ramp_filter

SAMPLES_PER_BLOCK = 2**18  # ray samples per block of views (direct, torch)
CSR_SAMPLES = 2**19  # ray samples per CSR block of canonical views (symmetric, SciPy)

# The square grid's eight symmetries about c, acting on (x, y): p -> M p.
_DIHEDRAL = tuple(np.array(m) for m in (
    [[1, 0], [0, 1]], [[0, 1], [-1, 0]], [[-1, 0], [0, -1]], [[0, -1], [1, 0]],
    [[-1, 0], [0, 1]], [[1, 0], [0, -1]], [[0, 1], [1, 0]], [[0, -1], [-1, 0]]))


def _angles(angles) -> np.ndarray:
    values = np.atleast_1d(np.asarray(torch.as_tensor(angles).detach().cpu().numpy(),
                                      dtype=np.float64))
    if values.ndim != 1 or values.size == 0:
        raise InputError("angles", angles, "a non-empty 1-D list of angles in degrees")
    if not np.all(np.isfinite(values)):
        bad = values[~np.isfinite(values)][:3].tolist()
        raise InputError("angles", angles, "finite angles in degrees",
                         f"remove the non-finite values {bad}")
    return values


def _canonical_view(beta_deg: float) -> tuple[float, int, int]:
    """(β₀ ∈ [0°, 45°], symmetry j, sign s) with M_j e_n(β₀) = e_n(β) and
    M_j e_u(β₀) = s e_u(β): the view β of f is the view β₀ of f∘M_j read at s·u."""
    b = math.radians(beta_deg)
    e_n = np.array([math.sin(b), math.cos(b)])
    e_u = np.array([math.cos(b), -math.sin(b)])
    for j, m in enumerate(_DIHEDRAL):
        d0 = m.T @ e_n
        b0 = math.degrees(math.atan2(d0[0], d0[1]))
        if -1e-9 <= b0 <= 45 + 1e-9:
            b0 = min(max(b0, 0.0), 45.0)
            r = math.radians(b0)
            sign = float((m @ np.array([math.cos(r), -math.sin(r)])) @ e_u)
            return b0, j, 1 if sign > 0 else -1
    raise AssertionError("unreachable: the grid symmetries cover every direction")


def object_radius(shape, circle: bool = True) -> float:
    """Radius in pixels of the object circle around c = (H // 2, W // 2): min(H, W) // 2
    with ``circle``, else |c| + 1 (the whole image)."""
    h, w = check_shape("shape", shape)
    return float(min(h // 2, w // 2)) if circle else math.hypot(w // 2, h // 2) + 1.0


def minimum_arc(shape, source_distance: float, circle: bool = True) -> float:
    """The shortest scan arc a fan-beam FBP can use, in degrees: 180° + 2 asin(r / D_so).

    Parameters
    ----------
    shape : tuple of int
        Image shape (H, W).
    source_distance : float
        D_so in pixels, larger than the object circle's radius r.
    circle : bool, default True
        As ``FanBeam``'s ``circle`` (which object circle).

    Returns
    -------
    float

    Raises
    ------
    InputError
        For a source inside (or on) the object circle.

    Examples
    --------
    >>> from physinv.operators.fan import minimum_arc
    >>> round(minimum_arc((256, 256), 512.0), 3)  # γ_m = asin(1/4): a fan of 28.955°
    208.955
    """
    radius = object_radius(shape, circle)
    d_so = check_positive("source_distance", source_distance)
    if d_so <= radius:
        raise InputError("source_distance", source_distance,
                         f"a source outside the object circle: > {radius:g} px",
                         "move the source further from the rotation centre")
    return 180.0 + 2 * math.degrees(math.asin(radius / d_so))


class FanBeam(LinearOperator):
    """Fan-beam projection A of ``(B, C, H, W)`` images onto a flat detector.

    .. math::

        (Af)(u_k, β) = ∫ f(S_β + l · v_{k,β}) dl ≈ Δl Σ_s f̃(S_β + l_s v_{k,β})

    with f̃ the bilinear interpolation of the image, S_β the source, v the unit direction from
    the source to detector bin k and l_s samples Δl ≤ 1 px apart across the object circle
    (module docstring: the geometry, the symmetries and the memory rule). Sinograms are
    ``(B, C, n_detectors, n_angles)``. Exact adjoint, batched, autograd through both.

    Parameters
    ----------
    shape : tuple of int
        Image shape (H, W).
    angles : array_like
        View angles β in degrees: over 360° (full scan) or over an arc of at least
        ``minimum_arc`` = 180° + the fan angle (short scan, ``fan_fbp`` applies Parker
        weights); any finite angles for the iterative solvers.
    source_distance : float
        D_so, source to rotation centre, in pixels; larger than the object circle's radius.
    detector_distance : float
        D_sd, source to the flat detector, in pixels (> 0; D_sd = D_so puts the detector
        through the centre).
    n_detectors : int, optional
        Number of detector bins; default the fewest that see the whole object circle.
    detector_spacing : float, optional
        Bin width du in pixels at the detector; default D_sd / D_so (one pixel at the
        centre).
    circle : bool, default True
        Work on the disk of radius min(H, W) // 2 around the centre (pixels outside ignored);
        ``False``: the whole image, object circle of radius |c| + 1.
    cache_bytes : int, optional
        Budget of the cached CSR blocks (default ``radon.CACHE_BYTES``): kept after the
        first application when ``op.cache_bytes`` (12 bytes per entry of the canonical
        views) fits, else recomputed per block (``op.cached`` says which).

    Raises
    ------
    InputError
        For non-finite angles, a source inside (or on) the object circle, non-positive
        distances or spacing, or a detector too narrow for the object circle (the message says
        how many bins are needed).

    See Also
    --------
    fan_fbp : the weighted filtered back-projection for this geometry.
    physinv.operators.Radon : the parallel-beam transform.

    References
    ----------
    .. [1] A. C. Kak, M. Slaney, "Principles of Computerized Tomographic Imaging", IEEE
           Press, 1988, ch. 3.4.2 (equally spaced collinear detectors).

    Examples
    --------
    >>> import torch
    >>> from physinv.operators.fan import FanBeam
    >>> op = FanBeam((32, 48), torch.arange(0, 360, 5.0), 60.0, 120.0)
    >>> tuple(op(torch.ones(1, 1, 32, 48)).shape)
    (1, 1, 35, 72)
    """

    def __init__(self, shape, angles, source_distance: float, detector_distance: float,
                 n_detectors: int | None = None, detector_spacing: float | None = None,
                 circle: bool = True, cache_bytes: int | None = None):
        shape = check_shape("shape", shape)
        angles_np = _angles(angles)
        h, w = shape
        cy, cx = h // 2, w // 2
        self.circle = bool(circle)
        radius = object_radius(shape, self.circle)
        self.minimum_arc = minimum_arc(shape, source_distance, self.circle)
        d_so = float(source_distance)
        d_sd = check_positive("detector_distance", detector_distance)
        du = d_sd / d_so if detector_spacing is None else check_positive(
            "detector_spacing", detector_spacing)
        half = d_sd * radius / math.sqrt(d_so**2 - radius**2)  # the fan's half-width at D_sd
        need = 2 * int(math.ceil(half / du - 1e-9)) + 1
        n_det = need if n_detectors is None else check_int("n_detectors", n_detectors)
        if n_det < need:
            raise InputError("n_detectors", n_det, f"at least {need} detector bins",
                             f"the fan over the object circle is {2 * half:.1f} px wide at "
                             f"the detector, bins are {du:g} px")
        super().__init__(shape, (n_det, angles_np.size))
        self.register_buffer("angles", torch.from_numpy(angles_np))
        self.source_distance, self.detector_distance = d_so, d_sd
        self.detector_spacing, self.radius = du, radius
        self.fan_angle = self.minimum_arc - 180.0
        self.n_samples = int(math.ceil(2 * radius)) + 1
        self.step = 2 * radius / (self.n_samples - 1)
        yy, xx = np.mgrid[:h, :w]
        inside = ((yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2) if self.circle else \
            np.ones((h, w), dtype=bool)
        self.register_buffer("mask", torch.from_numpy(inside.astype(np.float64)))
        self._block = max(1, SAMPLES_PER_BLOCK // (n_det * self.n_samples))
        self._setup_symmetry(angles_np)
        budget = CACHE_BYTES if cache_bytes is None else int(cache_bytes)
        self.cache_bytes = 12 * 4 * self.canonical_angles.numel() * n_det * self.n_samples
        self.cached = self.cache_bytes <= budget
        self._backend = "auto"
        self._cache: dict = {}

    def _setup_symmetry(self, angles_np) -> None:
        """Domain pixels on the symmetric grid of size 2g + 1 around c, the canonical views,
        the gather index (pixel q under each used M_j → flat image index, or the zero slot
        H·W) and the read-out index ((bin, view) → (canonical view, bin, transform))."""
        h, w = self.in_shape
        cy, cx = h // 2, w // 2
        g = int(self.radius) if self.circle else max(cy, cx, h - 1 - cy, w - 1 - cx)
        size = 2 * g + 1
        rows, cols = np.mgrid[:size, :size]
        y, x = rows - g, cols - g
        inside = (x**2 + y**2 <= self.radius**2) if self.circle else np.ones_like(x, bool)
        n_pix = int(inside.sum())
        # The lookup grid (2·reach + 1)² holds every ray sample's corners: a sample at l from
        # the source lies within |S + l v| ≤ max over l = D_so ± r (convex in l) of c.
        d_so, gam = self.source_distance, float(self.fan_angles().abs().max())
        far = max(math.sqrt(max(d_so**2 - 2 * l * d_so * math.cos(gam) + l**2, 0.0))
                  for l in (d_so - self.radius, d_so + self.radius))  # noqa: E741
        reach = max(g, int(math.ceil(far))) + 2
        lookup = np.full((2 * reach + 1, 2 * reach + 1), n_pix, dtype=np.int64)
        lookup[reach - g:reach + g + 1, reach - g:reach + g + 1][inside] = np.arange(n_pix)
        px, py = x[inside], y[inside]
        canon, j_idx, signs = zip(*(_canonical_view(float(a)) for a in angles_np), strict=True)
        uniq, ca = np.unique(np.round(np.asarray(canon), 9), return_inverse=True)
        used = sorted(set(j_idx))
        jpos = np.array([used.index(j) for j in j_idx])
        gathers = []
        for j in used:
            m = _DIHEDRAL[j]
            r = m[1, 0] * px + m[1, 1] * py + cy
            c = m[0, 0] * px + m[0, 1] * py + cx
            ok = (r >= 0) & (r < h) & (c >= 0) & (c < w)
            gathers.append(np.where(ok, r * w + c, h * w))
        n_det = self.out_shape[0]
        k = np.arange(n_det)[:, None]
        kk = np.where(np.asarray(signs)[None, :] > 0, k, n_det - 1 - k)  # (n_det, A)
        readout = (ca.reshape(1, -1) * n_det + kk) * len(used) + jpos[None, :]
        self._reach, self._n_pixels, self._n_transforms = reach, n_pix, len(used)
        self._csr_block = max(1, CSR_SAMPLES // (n_det * self.n_samples))
        self.register_buffer("canonical_angles", torch.from_numpy(uniq))
        self.register_buffer("grid_lookup", torch.from_numpy(lookup.reshape(-1)))
        self.register_buffer("gather_index", torch.from_numpy(np.concatenate(gathers)))
        self.register_buffer("readout_index", torch.from_numpy(readout.reshape(-1)))

    def domain_mask(self) -> torch.Tensor | None:
        """With ``circle``: the object circle's pixels, the only ones the rays sample (bool,
        ``in_shape``); None without it."""
        return self.mask.bool() if self.circle else None

    # ----------------------------------------------------------------- geometry
    def detector_positions(self, device=None) -> torch.Tensor:
        """u_k, the bins' positions along the detector in pixels, (n_detectors,) float64."""
        k = torch.arange(self.out_shape[0], dtype=torch.float64, device=device)
        return (k - (self.out_shape[0] - 1) / 2) * self.detector_spacing

    def fan_angles(self) -> torch.Tensor:
        """γ_k = atan(u_k / D_sd), each bin's angle to the central ray in radians, float64."""
        return torch.atan(self.detector_positions() / self.detector_distance)

    def _corners(self, beta_deg: torch.Tensor, device):
        """The first corner's row and column offsets from c (A_b, n, 1, S) of the ray samples
        of views ``beta_deg`` (degrees) and the bilinear weights × step (A_b, n, 4, S) of the
        corners (r, c), (r, c + 1), (r + 1, c), (r + 1, c + 1), float64."""
        beta = torch.deg2rad(beta_deg.to(device=device, dtype=torch.float64))[:, None, None]
        eu = (torch.cos(beta), -torch.sin(beta))
        en = (torch.sin(beta), torch.cos(beta))
        u = self.detector_positions(device)[None, :, None]
        dx = self.detector_distance * en[0] + u * eu[0]  # source → bin, then unit length
        dy = self.detector_distance * en[1] + u * eu[1]
        norm = torch.sqrt(dx**2 + dy**2)
        d_so = self.source_distance
        dist = d_so - self.radius + self.step * torch.arange(
            self.n_samples, dtype=torch.float64, device=device)  # from the source
        col = (-d_so * en[0] + dist * (dx / norm)).unsqueeze(2)  # (A_b, n, 1, S)
        row = (-d_so * en[1] + dist * (dy / norm)).unsqueeze(2)
        c0, r0 = torch.floor(col), torch.floor(row)
        fc, fr = col - c0, (row - r0) * self.step
        along_r = torch.cat((self.step - fr, fr), dim=2).unsqueeze(3)  # (A_b, n, 2, 1, S)
        along_c = torch.cat((1 - fc, fc), dim=2).unsqueeze(2)  # (A_b, n, 1, 2, S)
        weights = (along_r * along_c).flatten(2, 3)
        return r0.long(), c0.long(), weights

    def _samples(self, lo: int, hi: int, dtype, device):
        """Flat image indices (A_b, n, 4, S) — the zero slot H·W outside — and the bilinear
        weights × step of the ray samples of requested views lo … hi − 1 (direct form)."""
        h, w = self.in_shape
        r0, c0, weights = self._corners(self.angles[lo:hi], device)
        down = torch.tensor([0, 0, 1, 1], device=device)[:, None]
        r = r0 + (h // 2 + down)
        c = c0 + (w // 2 + torch.tensor([0, 1, 0, 1], device=device)[:, None])
        ok = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        return torch.where(ok, r * w + c, h * w), torch.where(ok, weights, 0.0).to(dtype)

    def _csr(self, lo: int, hi: int, dtype):
        """The CSR block of canonical views lo … hi − 1: rows (view, bin), columns the
        domain pixels q of the symmetric grid, zero weights dropped."""
        reach = self._reach
        side = 2 * reach + 1
        r0, c0, weights = self._corners(self.canonical_angles[lo:hi], "cpu")
        corner = torch.tensor([0, 1, side, side + 1])[:, None]
        flat = (r0 * side + c0) + (reach * side + reach + corner)  # all on the lookup grid
        q = self.grid_lookup.index_select(0, flat.reshape(-1))
        n_rows = (hi - lo) * self.out_shape[0]
        q = q.reshape(n_rows, -1).to(torch.int32).numpy()
        weights = weights.reshape(n_rows, -1).to(dtype).numpy()
        keep = (q < self._n_pixels) & (weights != 0)
        pointer = np.zeros(n_rows + 1, dtype=np.int32)
        np.cumsum(keep.sum(1), out=pointer[1:])
        return sparse.csr_matrix((weights[keep], q[keep], pointer),
                                 shape=(n_rows, self._n_pixels))

    def _blocks(self, dtype):
        """Yield (lo, hi, CSR block) over the canonical views; kept when ``cached``."""
        if self.cached and dtype in self._cache:
            yield from self._cache[dtype]
            return
        kept = []
        n_canon = self.canonical_angles.numel()
        for lo in range(0, n_canon, self._csr_block):
            hi = min(lo + self._csr_block, n_canon)
            block = (lo, hi, self._csr(lo, hi, dtype))
            if self.cached:
                kept.append(block)
            yield block
        if self.cached:
            self._cache = {dtype: kept}  # keep one dtype at a time

    def _backend_for(self, device) -> str:
        if self._backend != "auto":
            return self._backend
        return "symmetric" if torch.device(device).type == "cpu" else "direct"

    # ----------------------------------------------------------------- kernels
    def _project(self, x):
        if self._backend_for(x.device) == "symmetric":
            return self._project_symmetric(x)
        lead = x.shape[:-2]
        h, w = self.in_shape
        flat = (x * self.mask.to(x)).reshape(-1, h * w)
        cols = torch.cat([flat, flat.new_zeros(flat.shape[0], 1)], dim=1).T  # (HW + 1, nb)
        out = []
        for lo in range(0, self.out_shape[1], self._block):
            hi = min(lo + self._block, self.out_shape[1])
            index, weight = self._samples(lo, hi, x.dtype, x.device)
            picked = cols.index_select(0, index.reshape(-1)).reshape(*index.shape, -1)
            out.append((picked * weight.unsqueeze(-1)).sum(dim=(2, 3)))  # (A_b, n, nb)
        y = torch.cat(out).permute(2, 1, 0)  # (nb, n, A)
        return y.reshape(*lead, *self.out_shape)

    def _backproject(self, s):
        if self._backend_for(s.device) == "symmetric":
            return self._backproject_symmetric(s)
        lead = s.shape[:-2]
        h, w = self.in_shape
        flat = s.reshape(-1, *self.out_shape)
        nb = flat.shape[0]
        img = flat.new_zeros(h * w + 1, nb)
        for lo in range(0, self.out_shape[1], self._block):
            hi = min(lo + self._block, self.out_shape[1])
            index, weight = self._samples(lo, hi, s.dtype, s.device)
            view = flat[..., lo:hi].permute(2, 1, 0)  # (A_b, n, nb)
            contrib = weight.unsqueeze(-1) * view[:, :, None, None, :]  # (A_b, n, 4, S, nb)
            img = img.index_add(0, index.reshape(-1), contrib.reshape(-1, nb))
        out = img[:-1].T.reshape(*lead, h, w)
        return out * self.mask.to(out)

    def _project_symmetric(self, x):
        """Gather the J permuted copies f∘M_j on the domain (P, J·nb), multiply by the
        canonical CSR blocks, read the requested views out."""
        lead = x.shape[:-2]
        h, w = self.in_shape
        flat = x.reshape(-1, h * w)
        nb, n_t, n_det = flat.shape[0], self._n_transforms, self.out_shape[0]
        cols = torch.cat([flat, flat.new_zeros(nb, 1)], dim=1).T  # (H·W + 1, nb)
        z = cols.index_select(0, self.gather_index).reshape(n_t, self._n_pixels, nb)
        z = z.permute(1, 0, 2).reshape(self._n_pixels, n_t * nb).contiguous().numpy()
        y = np.empty((self.canonical_angles.numel() * n_det, n_t * nb), dtype=z.dtype)
        for lo, hi, block in self._blocks(x.dtype):
            y[lo * n_det:hi * n_det] = block @ z
        y = torch.from_numpy(y).reshape(-1, nb).index_select(0, self.readout_index)
        return y.T.reshape(*lead, *self.out_shape)

    def _backproject_symmetric(self, s):
        """The transpose of ``_project_symmetric``, step by step."""
        lead = s.shape[:-2]
        h, w = self.in_shape
        n_det, n_ang = self.out_shape
        flat = s.reshape(-1, n_det * n_ang)
        nb, n_t = flat.shape[0], self._n_transforms
        n_rows = self.canonical_angles.numel() * n_det
        y = flat.new_zeros(n_rows * n_t, nb).index_add(0, self.readout_index, flat.T)
        y = y.reshape(n_rows, n_t * nb).numpy()
        z = np.zeros((self._n_pixels, n_t * nb), dtype=y.dtype)
        for lo, hi, block in self._blocks(s.dtype):
            z += block.T @ y[lo * n_det:hi * n_det]
        z = torch.from_numpy(z).reshape(self._n_pixels, n_t, nb).permute(1, 0, 2)
        img = flat.new_zeros(h * w + 1, nb).index_add(0, self.gather_index,
                                                     z.reshape(-1, nb))
        return img[:-1].T.reshape(*lead, h, w)

    def _forward(self, x):
        if x.is_complex():
            return torch.complex(self._forward(x.real), self._forward(x.imag))
        return Projection.apply(x, self)

    def _adjoint(self, y):
        if y.is_complex():
            return torch.complex(self._adjoint(y.real), self._adjoint(y.imag))
        return BackProjection.apply(y, self)

    def extra_repr(self):
        """Shape, views, distances, detector, canonical views and whether cached."""
        return (f"shape={self.in_shape}, n_angles={self.out_shape[1]}, "
                f"source_distance={self.source_distance:g}, "
                f"detector_distance={self.detector_distance:g}, "
                f"n_detectors={self.out_shape[0]}, detector_spacing={self.detector_spacing:g}, "
                f"stored_angles={self.canonical_angles.numel()}, cached={self.cached}")


# --------------------------------------------------------------------- FBP
def parker_weight(beta, gamma, beta_max: float) -> np.ndarray:
    """Parker's smooth weights of short-scan fan-beam data, generalised to any arc.

    With δ = (β_max − π) / 2 (≥ the half fan angle γ_m; δ = γ_m is Parker's minimal scan):

    .. math::

        w(β, γ) = \\begin{cases}
            \\sin^2\\big(\\frac{π}{4} \\frac{β}{δ − γ}\\big) & 0 ≤ β < 2δ − 2γ \\\\
            1 & 2δ − 2γ ≤ β ≤ π − 2γ \\\\
            \\sin^2\\big(\\frac{π}{4} \\frac{β_{max} − β}{δ + γ}\\big) & π − 2γ < β ≤ β_max
        \\end{cases}

    and 0 outside [0, β_max]. The ray (β, γ) and its conjugate (β ± π + 2γ, −γ) — the same
    line, measured from the other side — have weights summing to 1 for |γ| ≤ δ, so each line
    counts once; the weights vanish at both ends of the scan and are continuous except at the
    corner (β, γ) = (0, δ) — the same line as (β_max, −δ) — where the edge ray's rise is empty
    (there the pair's sum depends on how β ± π + 2γ rounds).

    Parameters
    ----------
    beta : array_like
        View angle from the first view of the scan, radians.
    gamma : array_like
        Fan angle of the ray (``FanBeam.fan_angles``), radians; broadcast with ``beta``.
    beta_max : float
        The scan's arc in radians, π + 2γ_m ≤ β_max < 2π.

    Returns
    -------
    numpy.ndarray
        w(β, γ), float64, in [0, 1].

    References
    ----------
    .. [1] D. L. Parker, "Optimal short scan convolution reconstruction for fan beam CT",
           Med. Phys. 9(2), 254–257, 1982.

    Examples
    --------
    >>> import numpy as np
    >>> from physinv.operators.fan import parker_weight
    >>> bmax = np.pi + 0.5
    >>> w = parker_weight(0.3, 0.1, bmax) + parker_weight(0.3 + np.pi + 0.2, -0.1, bmax)
    >>> round(float(w), 12)
    1.0
    """
    beta, gamma = np.broadcast_arrays(np.asarray(beta, dtype=np.float64),
                                      np.asarray(gamma, dtype=np.float64))
    delta = (beta_max - math.pi) / 2
    rise, fall = 2 * (delta - gamma), math.pi - 2 * gamma
    with np.errstate(divide="ignore", invalid="ignore"):
        up = np.sin(math.pi / 4 * beta / (delta - gamma)) ** 2
        down = np.sin(math.pi / 4 * (beta_max - beta) / (delta + gamma)) ** 2
    out = np.where((beta >= 0) & (beta < rise), up, 0.0)
    out = np.where((beta >= np.maximum(rise, 0)) & (beta <= np.minimum(fall, beta_max)),
                   1.0, out)
    return np.where((beta > fall) & (beta <= beta_max), down, out)


def scan_weights(op: FanBeam) -> torch.Tensor:
    """Per-ray weights of ``fan_fbp``: the angular quadrature Δβ_j times 1/2 (each line is
    measured twice in a full scan) or times Parker's w(β_j, γ_k) (a short scan).

    The views' angles, taken from the first one modulo 360° and sorted, form a **full scan**
    when no gap between neighbours (including the wrap-around one) is larger than the largest
    inner gap; Δβ_j is then the circular trapezoid rule (2π / A for A equally spaced views).
    Otherwise they form a **short scan** over β_max = their span, which must be at least
    ``op.minimum_arc``; Δβ_j is the trapezoid rule on [0, β_max].

    Parameters
    ----------
    op : FanBeam
        The geometry.

    Returns
    -------
    torch.Tensor, shape (n_detectors, n_angles)
        float64: Δβ_j / 4 (full scan) or w(β_j, γ_k) Δβ_j / 2 (short scan), radians; the
        extra 1/2 is the FBP's constant.

    Raises
    ------
    InputError
        For views spanning less than ``op.minimum_arc`` without closing the circle (the
        message gives the minimum).

    Examples
    --------
    >>> import numpy as np
    >>> from physinv.operators.fan import FanBeam, scan_weights
    >>> op = FanBeam((32, 32), np.linspace(0, 240, 121), 64.0, 128.0)
    >>> w = scan_weights(op)
    >>> w.shape, float(w[:, 0].abs().max()) < 1e-3  # Parker: 0 at the first view
    (torch.Size([35, 121]), True)
    """
    angles = op.angles.numpy()
    rel = np.mod(angles - angles[0], 360.0)
    order = np.argsort(rel, kind="stable")
    sorted_rel = rel[order]
    gaps = np.diff(sorted_rel)
    wrap = 360.0 - sorted_rel[-1]
    full = gaps.size > 0 and wrap <= gaps.max() * (1 + 1e-6) + 1e-9
    before = np.concatenate(([wrap if full else 0.0], gaps))
    after = np.concatenate((gaps, [wrap if full else 0.0]))
    delta = np.empty_like(rel)
    delta[order] = np.deg2rad(before + after) / 2
    if full:
        return torch.from_numpy(np.broadcast_to(delta / 4, op.out_shape).copy())
    span = float(sorted_rel[-1])
    if span < op.minimum_arc - 1e-6:
        raise InputError("angles", f"{op.out_shape[1]} views over {span:.3f}°",
                         f"a full scan (360°) or a short scan over at least "
                         f"{op.minimum_arc:.3f}° (180° + the fan angle {op.fan_angle:.3f}°)",
                         "filtered back-projection needs every line measured once; the "
                         "iterative methods take any views")
    gamma = op.fan_angles().numpy()[:, None]
    w = parker_weight(np.deg2rad(rel)[None, :], gamma, math.radians(span))
    return torch.from_numpy(w * delta[None, :] / 2)


def fan_fbp(sinogram: torch.Tensor, op: FanBeam, filter: str = "ramp") -> torch.Tensor:  # noqa: A002
    """Weighted filtered back-projection for a flat-detector fan beam, full or short scan.

    With the detector rescaled to the rotation centre, s = u · D_so / D_sd (spacing
    Δs = du · D_so / D_sd):

    .. math::

        f(x) ≈ \\frac{1}{Δs} Σ_j \\frac{1}{U_j(x)^2}
               \\Big(k ∗ \\frac{c_j\\, D_{so}\\, g_j}{\\sqrt{D_{so}^2 + s^2}}\\Big)(s'_j(x)),
        \\quad U_j(x) = \\frac{D_{so} + ⟨x, e_n⟩}{D_{so}},\\ s'_j(x) = \\frac{⟨x, e_u⟩}{U_j(x)}

    (Kak & Slaney, equally spaced collinear detectors), k the ramp-type filter of
    ``ramp_filter`` along the detector, the filtered views read by linear interpolation and
    c_j(s) the ``scan_weights``: Δβ_j / 4 for a full scan over 360°, Parker's weights
    w(β_j, γ) Δβ_j / 2 for a **short scan** (any arc from ``op.minimum_arc`` = 180° + the
    fan angle to 360°; which one is read from the angles — as ODL's ``fbp_op`` with Parker
    weighting, or ASTRA's ``FBP`` with ``ShortScan``).

    Parameters
    ----------
    sinogram : torch.Tensor, shape (B, C, n_detectors, n_angles)
        Measurement g as produced by ``op``.
    op : FanBeam
        The operator that produced it.
    filter : {"ramp", "shepp-logan", "hann", "cosine", "hamming"}, default "ramp"
        The filter k.

    Returns
    -------
    torch.Tensor, shape (B, C, H, W)
        The reconstruction, in the sinogram's dtype.

    Raises
    ------
    InputError
        For an operator that is not a ``FanBeam``, an unknown filter, a sinogram of the
        wrong shape (the message gives the expected one), or views spanning less than the
        minimum arc (the message gives it).

    References
    ----------
    .. [1] A. C. Kak, M. Slaney, "Principles of Computerized Tomographic Imaging", IEEE
           Press, 1988, ch. 3.4.2.
    .. [2] D. L. Parker, "Optimal short scan convolution reconstruction for fan beam CT",
           Med. Phys. 9(2), 254–257, 1982.

    Examples
    --------
    >>> import torch
    >>> from physinv.metrics import psnr
    >>> from physinv.operators.fan import FanBeam, fan_fbp
    >>> x = torch.zeros(1, 1, 32, 32, dtype=torch.float64)
    >>> x[..., 12:20, 12:20] = 1.0
    >>> op = FanBeam((32, 32), torch.arange(0, 360, 2.0), 48.0, 96.0)
    >>> short = FanBeam((32, 32), torch.linspace(0, 220, 111), 48.0, 96.0)
    >>> bool(psnr(fan_fbp(op(x), op), x) > 20), bool(psnr(fan_fbp(short(x), short), x) > 20)
    (True, True)
    """
    if not isinstance(op, FanBeam):
        raise InputError("op", op, "a physinv.operators.fan.FanBeam operator")
    if filter not in FILTERS:
        raise InputError("filter", filter, f"one of {FILTERS}")
    op.check_measurement(sinogram, "sinogram")
    weights = scan_weights(op).to(sinogram)
    n_det, n_ang = op.out_shape
    d_so, scale = op.source_distance, op.source_distance / op.detector_distance
    s = op.detector_positions(sinogram.device).to(sinogram.dtype) * scale
    weighted = sinogram * (d_so / torch.sqrt(d_so**2 + s**2))[:, None] * weights
    size = max(64, int(2 ** math.ceil(math.log2(2 * n_det))))
    response = torch.from_numpy(ramp_filter(size, filter)).to(sinogram)
    spectrum = torch.fft.fft(weighted, n=size, dim=-2) * response[:, None]
    filtered = torch.fft.ifft(spectrum, dim=-2)[..., :n_det, :].real
    rec = _weighted_backprojection(filtered, op) / (op.detector_spacing * scale)
    return rec * op.mask.to(rec)


def _weighted_backprojection(filtered: torch.Tensor, op: FanBeam) -> torch.Tensor:
    """Σ_j q_j(s'_j(x)) / U_j(x)², the filtered views q read by linear interpolation
    (``grid_sample``, zero outside the detector) at every pixel x, per block of views;
    (B, C, H, W)."""
    n_det, n_ang = op.out_shape
    d_so, scale = op.source_distance, op.source_distance / op.detector_distance
    lead = filtered.shape[:-2]
    views = filtered.reshape(-1, n_det, n_ang)
    h, w = op.in_shape
    device, dtype = filtered.device, filtered.dtype
    yy, xx = torch.meshgrid(torch.arange(h, dtype=dtype, device=device) - h // 2,
                            torch.arange(w, dtype=dtype, device=device) - w // 2,
                            indexing="ij")
    coords = torch.stack((xx.reshape(-1), yy.reshape(-1)), dim=1)  # (HW, 2)
    out = views.new_zeros(views.shape[0], h * w)
    block = max(1, 4 * SAMPLES_PER_BLOCK // (h * w))
    to_grid = 2 / ((n_det - 1) * op.detector_spacing * scale)  # s' → [−1, 1] over the bins
    grid = views.new_zeros(block, h * w, 1, 2)  # the second coordinate stays 0
    for lo in range(0, n_ang, block):
        hi = min(lo + block, n_ang)
        beta = torch.deg2rad(op.angles[lo:hi].to(device))
        cos, sin = torch.cos(beta).to(dtype), torch.sin(beta).to(dtype)
        # ⟨x, e_n⟩ / D_so and ⟨x, e_u⟩ · to_grid for every pixel and view, (2, A_b, HW)
        axes = torch.stack((torch.stack((sin, cos)) / d_so, torch.stack((cos, -sin)) * to_grid))
        dots = torch.einsum("pc,kca->kap", coords, axes)
        inverse = dots[0].add_(1).reciprocal_()  # 1 / U
        part = grid[:hi - lo]
        torch.mul(dots[1], inverse, out=part[..., 0, 0])  # s' in grid units
        q = views[..., lo:hi].permute(2, 0, 1)[:, :, None]  # (A_b, nb, 1, n_det)
        picked = torch.nn.functional.grid_sample(q, part, mode="bilinear",
                                                 padding_mode="zeros", align_corners=True)
        out += torch.einsum("abp,ap->bp", picked[..., 0], inverse.square_())
    return out.reshape(*lead, h, w)
