r"""Per-channel linear splines with bounded slopes — the learnable potentials of the ridge
regularisers (``physinv.nets.ridge``) — and the exact potential of WCRR's sign-clipped
difference of two splines.

.. math::

    φ_c(t) = v_{c,k} + s_{c,k}(t − t_k),\qquad ψ_c(t) = ∫₀ᵗ φ_c
"""

from __future__ import annotations

import torch
from torch import nn

from physinv.errors import InputError


class LinearSpline(nn.Module):
    """Per-channel linear splines φ_c with slopes in [lo, hi], φ_c(0) = 0.

    .. math::

        φ_c(t) = v_{c,k} + s_{c,k} (t − t_k),\\quad t_k = −r + kΔ,\\; k = ⌊(t + r)/Δ⌋
        \\text{ clamped to the } M − 1 \\text{ intervals}

    v the cumulative values at the knots (v = 0 at the central knot t = 0); beyond the knots
    the end slopes continue. ``potential`` is ψ_c(t) = ∫₀ᵗ φ_c, piecewise quadratic.

    Parameters
    ----------
    channels : int
        Number of splines C.
    knots : int, default 31
        Knots M (odd: t = 0 is a knot).
    radius : float, default 1.0
        The knots span [−radius, radius].
    lo, hi : float
        Bounds of the slopes (imposed on use).
    init : float or "huber"
        Initial slope of every interval, or ``"huber"``: slope 1 on the two central intervals
        and 0 elsewhere (φ = clip(t, −Δ, Δ), ψ Huber's function: an ℓ1 penalty of weight Δ
        on the filter responses beyond Δ).
    """

    def __init__(self, channels: int, knots: int = 31, radius: float = 1.0, lo: float = 0.0,
                 hi: float = 1.0, init: float | str = "huber"):
        super().__init__()
        if knots < 3 or knots % 2 == 0:
            raise InputError("knots", knots, "an odd integer ≥ 3")
        self.radius, self.lo, self.hi = float(radius), float(lo), float(hi)
        self.delta = 2 * self.radius / (knots - 1)
        if init == "huber":
            raw = torch.zeros(channels, knots - 1)
            raw[:, knots // 2 - 1: knots // 2 + 1] = 1.0
        else:
            raw = torch.full((channels, knots - 1), float(init))
        self.raw = nn.Parameter(raw)

    def slopes(self) -> torch.Tensor:
        """The slopes s (C, M − 1), clamped to [lo, hi]."""
        return self.raw.clamp(self.lo, self.hi)

    def _tables(self):
        s = self.slopes()
        v = torch.cat([torch.zeros_like(s[:, :1]), torch.cumsum(s * self.delta, 1)], 1)
        centre = s.shape[1] // 2
        v = v - v[:, centre: centre + 1]
        return s, v

    def _locate(self, t: torch.Tensor):
        c, m = self.raw.shape
        k = torch.floor((t + self.radius) / self.delta).clamp(0, m - 1).long()
        flat = k + torch.arange(c, device=t.device).view(1, c, 1, 1) * m
        knot = -self.radius + k.to(t.dtype) * self.delta
        return flat, t - knot

    def _interval(self, t: torch.Tensor) -> torch.Tensor:
        """The knot interval k (B, C, N) of every t (B, C, H, W), as a ``gather`` index:
        k = ⌊t/Δ + I/2⌋ clamped to the I = M − 1 intervals [0, I − 1] (truncation of the
        quotient clamped to [0, I): the same as the floor there)."""
        m = self.raw.shape[1]
        u = (t * (1.0 / self.delta) + m // 2).clamp_(0.0, m - 1e-3)
        return u.long().flatten(2)

    @staticmethod
    def _pick(table: torch.Tensor, k: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """table[c, k] for the per-channel intervals k (B, C, N), shaped like t."""
        return torch.gather(table.to(t.dtype).expand(k.shape[0], -1, -1), 2, k).view_as(t)

    def forward(self, t: torch.Tensor, scale=1.0) -> torch.Tensor:
        """w·φ(t) for ``t`` of shape (B, C, H, W) and a weight w (scalar or per image,
        (B, 1, 1, 1)): a_k + s_k t with a_k = v_k − s_k t_k, the weight folded into the tables
        (one interval index, two per-channel gathers)."""
        s, v = self._scaled(scale)
        k = self._interval(t)
        return self._pick(v[..., :-1] - s * self._knots(s), k, t) + self._pick(s, k, t) * t

    def _scaled(self, scale):
        """The tables (s, v) times the weight: (C, ·) for a number, (B or 1, C, ·) for a
        tensor."""
        s, v = self._tables()
        if isinstance(scale, torch.Tensor):  # keeps its gradient (λ(σ) in training)
            w = scale.reshape(-1, 1, 1).to(s.dtype)
            return w * s, w * v
        w = float(scale)
        return (s, v) if w == 1.0 else (w * s, w * v)

    def _knots(self, s: torch.Tensor) -> torch.Tensor:
        """The left knots t_k = (k − M/2)Δ of the intervals (exactly 0 at the centre)."""
        m = s.shape[-1]
        return (torch.arange(m, device=s.device, dtype=s.dtype) - m // 2) * self.delta

    def forward_and_potential(self, t: torch.Tensor, scale=1.0
                              ) -> tuple[torch.Tensor, torch.Tensor]:
        """(wφ(t), wψ(t)) from one interval index, the weight w as in ``forward``: with
        d = t − t_k, φ = v_k + s_k d and ψ = p_k + d (v_k + ½ s_k d)."""
        s, v = self._scaled(scale)
        p = self._cumulative(s, v)
        k = self._interval(t)
        d = t - (k.view_as(t).to(t.dtype) - s.shape[-1] // 2) * self.delta
        v_k, s_k = self._pick(v[..., :-1], k, t), self._pick(s, k, t)
        return v_k + s_k * d, self._pick(p[..., :-1], k, t) + d * (v_k + 0.5 * s_k * d)

    def _cumulative(self, s, v):
        """p_k = ψ(t_k) = ∫₀^{t_k} φ at the knots (p = 0 at the central knot)."""
        p = torch.cat([torch.zeros_like(v[..., :1]),
                       torch.cumsum(self.delta * (v[..., :-1] + v[..., 1:]) / 2, -1)], -1)
        centre = s.shape[-1] // 2
        return p - p[..., centre: centre + 1]

    def potential(self, t: torch.Tensor) -> torch.Tensor:
        """ψ(t) = ∫₀ᵗ φ for ``t`` of shape (B, C, H, W), elementwise."""
        return self.forward_and_potential(t)[1]


def _ramp_integral(v, s, d):
    """∫₀ᵈ max(v + s u, 0) du for d ≥ 0, case by case (each case well conditioned)."""
    z1 = v + s * d
    both = d * (v + z1) / 2
    down = d * v * v / (2 * (v - z1)).clamp_min(torch.finfo(v.dtype).tiny)
    up = d * z1 * z1 / (2 * (z1 - v)).clamp_min(torch.finfo(v.dtype).tiny)
    return torch.where(v >= 0, torch.where(z1 >= 0, both, down),
                       torch.where(z1 > 0, up, torch.zeros_like(v)))


def _clipped_potential(plus: LinearSpline, minus: LinearSpline, w_plus, w_minus, t):
    """ψ(t) = ∫₀ᵗ φ̃ for the sign-clipped φ̃ of w₊φ₊ − w₋φ₋ (weights per image), exactly.

    φ = w₊φ₊ − w₋φ₋ is linear on each knot interval, value V_k at its left knot t_k and slope
    S_k, so with d = t − t_k: ψ(t) = P_k + ∫_{t_k}^t φ̃, the ramp integral of V_k + S_k u on
    t_k ≥ 0 and minus that of −(V_k + S_k u) on t_k < 0 (before the first knot, backwards);
    P_k = ∫₀^{t_k} φ̃ sums whole intervals from the central knot t = 0.
    """
    s_p, v_p = plus._tables()
    s_m, v_m = minus._tables()
    w1 = torch.as_tensor(w_plus, dtype=s_p.dtype, device=t.device).reshape(-1, 1, 1)
    w2 = torch.as_tensor(w_minus, dtype=s_p.dtype, device=t.device).reshape(-1, 1, 1)
    slope, value = w1 * s_p - w2 * s_m, w1 * v_p - w2 * v_m  # (B or 1, C, M − 1), (…, M)
    n_int, delta, centre = slope.shape[-1], plus.delta, slope.shape[-1] // 2
    full = torch.ones_like(slope) * delta
    pos = torch.arange(n_int, device=t.device) >= centre  # intervals right of t = 0
    area = torch.where(pos, _ramp_integral(value[..., :-1], slope, full),
                       -_ramp_integral(-value[..., :-1], -slope, full))
    cum = torch.cat([torch.zeros_like(area[..., :1]), torch.cumsum(area, -1)], -1)
    cum = cum - cum[..., centre: centre + 1]
    flat, d = plus._locate(t)  # flat = k + c(M − 1)
    if slope.shape[0] > 1:
        flat = flat + (torch.arange(t.shape[0], device=t.device) * flat.new_tensor(
            slope[0].numel())).view(-1, 1, 1, 1)
    k = flat % n_int

    def pick(a):
        return torch.take(a[..., :n_int].reshape(-1).to(t.dtype), flat)

    v, sl = pick(value), pick(slope)
    right = _ramp_integral(v, sl, d.clamp_min(0))
    left = -_ramp_integral(-v, -sl, d.clamp_min(0))
    before = _ramp_integral(-v, sl, (-d).clamp_min(0))  # t before the first knot
    part = torch.where(k >= centre, right, torch.where(d >= 0, left, before))
    return pick(cum) + part
