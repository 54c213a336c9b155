"""Radiometry of a band camera: Planck band radiance, its inverse, the apparent temperature.

A camera sensitive over ``band`` (8–14 µm for an uncooled microbolometer) measures the band
radiance L(T) = ∫ Planck(λ, T) dλ. An object at T with emissivity ε in surroundings at T_refl
sends L_app = ε L(T) + (1 − ε) L(T_refl); the camera reports the apparent temperature
T_app = L⁻¹(L_app). With ``radiometry="linear"`` the linearised form
T_app = ε T + (1 − ε) T_refl is used (accurate to ~0.1 K within ±15 K of T_refl, worse beyond —
say which one you use).

>>> round(float(apparent_temperature(330.0, 0.9, 293.15)), 2)  # ε < 1 reads colder
326.77
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from physinv.errors import InputError

H_PLANCK, C_LIGHT, K_BOLTZMANN = 6.62607015e-34, 2.99792458e8, 1.380649e-23
T_GRID = np.linspace(150.0, 900.0, 15001)  # K, for inverting the band radiance


def band_radiance(temperature, band=(8.0, 14.0), n: int = 121) -> np.ndarray:
    r"""Planck radiance of a blackbody integrated over a spectral band.

    .. math:: L(T) = \int_{\lambda_0}^{\lambda_1} \frac{2 h c^2}{\lambda^5}
              \frac{1}{e^{h c / (\lambda k T)} - 1} \, d\lambda

    by the trapezoidal rule on ``n`` wavelengths.

    Parameters
    ----------
    temperature : float or array_like, any shape
        Blackbody temperatures in kelvin (finite, above 0 K).
    band : (float, float), optional
        Spectral band (λ₀, λ₁) in µm.
    n : int, optional
        Number of wavelengths of the quadrature.

    Returns
    -------
    numpy.ndarray, the shape of ``temperature``
        Band radiance in W m⁻² sr⁻¹ (float64).

    Raises
    ------
    InputError
        If a temperature is not finite or not above 0 K.

    Examples
    --------
    >>> radiance = band_radiance([290.0, 300.0])
    >>> bool(radiance[1] > radiance[0])
    True
    """
    t = np.asarray(temperature, dtype=np.float64)
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise InputError("temperature", float(np.min(t)), "temperatures above 0 K")
    lam = np.linspace(band[0], band[1], n) * 1e-6
    c1, c2 = 2 * H_PLANCK * C_LIGHT**2, H_PLANCK * C_LIGHT / K_BOLTZMANN
    spectral = c1 / lam**5 / np.expm1(c2 / (lam * t[..., None]))
    return np.trapezoid(spectral, lam, axis=-1)


def inverse_band_radiance(radiance, band=(8.0, 14.0)) -> np.ndarray:
    """Temperature whose band radiance is ``radiance``: T = L⁻¹(radiance).

    L is tabulated on 150–900 K (0.05 K steps, ``T_GRID``) and inverted by linear
    interpolation of the monotone table.

    Parameters
    ----------
    radiance : float or array_like, any shape
        Band radiance in W m⁻² sr⁻¹.
    band : (float, float), optional
        Spectral band in µm, as for ``band_radiance``.

    Returns
    -------
    numpy.ndarray, the shape of ``radiance``
        Temperature in kelvin (float64), clipped to the table's range.

    Examples
    --------
    >>> round(float(inverse_band_radiance(band_radiance(300.0))), 3)
    300.0
    """
    table = band_radiance(T_GRID, band)
    return np.interp(np.asarray(radiance, dtype=np.float64), table, T_GRID)


def apparent_temperature(temperature, emissivity, reflected: float, band=(8.0, 14.0),
                         radiometry: str = "planck") -> np.ndarray:
    """What a band camera reads for an object at ``temperature`` with ``emissivity``.

    ``"planck"``: T_app = L⁻¹(ε L(T) + (1 − ε) L(T_refl)); ``"linear"``:
    T_app = ε T + (1 − ε) T_refl.

    Parameters
    ----------
    temperature : float or array_like, shape (H, W) or any
        Object temperature in kelvin.
    emissivity : float or array_like, broadcastable to ``temperature``
        Emissivity ε in (0, 1].
    reflected : float
        Reflected (surroundings') temperature T_refl in kelvin.
    band : (float, float), optional
        Spectral band in µm.
    radiometry : {"planck", "linear"}, optional
        Exact band radiometry or its linearisation around T_refl.

    Returns
    -------
    numpy.ndarray, the broadcast shape
        Apparent temperature in kelvin (float64).

    Raises
    ------
    InputError
        If ``radiometry`` is neither ``"planck"`` nor ``"linear"``.

    Examples
    --------
    >>> float(apparent_temperature(300.0, 0.9, 293.15, radiometry="linear"))
    299.315
    """
    t, e = np.asarray(temperature, np.float64), np.asarray(emissivity, np.float64)
    if radiometry == "linear":
        return e * t + (1 - e) * reflected
    if radiometry != "planck":
        raise InputError("radiometry", radiometry, "'planck' or 'linear'")
    radiance = e * band_radiance(t, band) + (1 - e) * band_radiance(reflected, band)
    return inverse_band_radiance(radiance, band)


@functools.lru_cache(maxsize=8)
def _table(band: tuple) -> tuple[np.ndarray, np.ndarray]:
    """L and dL/dT on ``T_GRID`` for ``band`` (computed once per band)."""
    return band_radiance(T_GRID, band), band_radiance_derivative(T_GRID, band)


def band_radiance_derivative(temperature, band=(8.0, 14.0), n: int = 121) -> np.ndarray:
    r"""dL/dT of the band radiance, by the same quadrature as ``band_radiance``.

    .. math:: \frac{dL}{dT} = \int_{\lambda_0}^{\lambda_1} B_\lambda(T)
              \frac{x\, e^{x}}{T (e^{x} - 1)} \, d\lambda, \qquad x = \frac{h c}{\lambda k T}

    Parameters
    ----------
    temperature : float or array_like, any shape
        Temperatures in kelvin (above 0 K).
    band : (float, float), optional
        Spectral band in µm.
    n : int, optional
        Number of wavelengths of the quadrature.

    Returns
    -------
    numpy.ndarray, the shape of ``temperature``
        dL/dT in W m⁻² sr⁻¹ K⁻¹ (float64).

    Examples
    --------
    >>> d = float(band_radiance_derivative(300.0))
    >>> fd = float(band_radiance(300.01) - band_radiance(299.99)) / 0.02
    >>> abs(d / fd - 1) < 1e-6
    True
    """
    t = np.asarray(temperature, dtype=np.float64)
    if np.any(~np.isfinite(t)) or np.any(t <= 0):
        raise InputError("temperature", float(np.min(t)), "temperatures above 0 K")
    lam = np.linspace(band[0], band[1], n) * 1e-6
    c1, c2 = 2 * H_PLANCK * C_LIGHT**2, H_PLANCK * C_LIGHT / K_BOLTZMANN
    x = c2 / (lam * t[..., None])
    em1 = np.expm1(x)
    spectral = c1 / lam**5 / em1 * x * (em1 + 1) / em1 / t[..., None]
    return np.trapezoid(spectral, lam, axis=-1)


@dataclass(frozen=True)
class Radiometry:
    r"""The radiometric scene: emissivity, reflected temperature and atmosphere.

    The camera receives, in band radiance,

    .. math:: L_\text{app} = \tau \left(\varepsilon L(T) + (1 - \varepsilon) L(T_\text{refl})
              \right) + (1 - \tau) L(T_\text{atm})

    and reports the apparent temperature T_app = L⁻¹(L_app). ``object_temperature`` inverts
    it for T.

    Parameters
    ----------
    emissivity : float or numpy.ndarray of shape (H, W)
        ε in (0, 1] (a map on the object grid for a scene of several materials).
    t_refl : float, optional
        Reflected apparent temperature of the surroundings, K (≥ 0; needed when ε < 1).
    tau : float, optional
        Atmospheric transmission in (0, 1].
    t_atm : float, optional
        Atmosphere temperature, K (≥ 0; needed when τ < 1; default ``t_refl``).
    band : (float, float), optional
        The camera's spectral band, µm.

    Raises
    ------
    InputError
        If ε is outside (0, 1] or not finite, T_refl / T_atm below 0 K, τ outside (0, 1],
        or a temperature missing where it is needed.

    Examples
    --------
    >>> Radiometry(1.0).is_identity
    True
    >>> Radiometry(1.5)
    Traceback (most recent call last):
    ...
    physinv.errors.InputError: emissivity: got 1.5, expected an emissivity in (0, 1]
    """

    emissivity: float | np.ndarray = 1.0
    t_refl: float | None = None
    tau: float = 1.0
    t_atm: float | None = None
    band: tuple = (8.0, 14.0)

    def __post_init__(self):
        e = np.asarray(self.emissivity, dtype=np.float64)
        if e.ndim not in (0, 2):
            raise InputError("emissivity", f"an array of shape {e.shape}",
                             "a number or a 2-D map (H, W)")
        bad = ~np.isfinite(e) | (e <= 0) | (e > 1)
        if np.any(bad):
            value = float(e) if e.ndim == 0 else f"{float(e[bad][0]):g} in the map"
            raise InputError("emissivity", value, "an emissivity in (0, 1]")
        if not (np.isfinite(self.tau) and 0 < self.tau <= 1):
            raise InputError("tau", self.tau, "an atmospheric transmission in (0, 1]")
        for name, value in (("t_refl", self.t_refl), ("t_atm", self.t_atm)):
            if value is not None and not (np.isfinite(value) and value >= 0):
                raise InputError(name, value, "a temperature of 0 K or more")
        if np.any(e < 1) and self.t_refl is None:
            raise InputError("t_refl", None, "a reflected temperature (K) when ε < 1")
        if self.tau < 1 and self.t_atm is None and self.t_refl is None:
            raise InputError("t_atm", None, "an atmosphere temperature (K) when τ < 1")

    @property
    def is_identity(self) -> bool:
        """True when ε = 1 everywhere and τ = 1: the object temperature is the apparent one."""
        return bool(np.all(np.asarray(self.emissivity) == 1.0)) and self.tau == 1.0

    def check_shape(self, shape) -> None:
        """Refuse an emissivity map whose shape is not the object grid ``shape``."""
        e = np.asarray(self.emissivity)
        if e.ndim == 2 and tuple(e.shape) != tuple(shape):
            raise InputError("emissivity", f"a map of shape {tuple(e.shape)}",
                             f"a map of the restored frame's shape {tuple(shape)}")

    def describe(self) -> dict:
        """The parameters for a summary (a map by its shape, mean and range)."""
        e = np.asarray(self.emissivity, dtype=np.float64)
        eps = float(e) if e.ndim == 0 else {"map": list(e.shape), "mean": float(e.mean()),
                                            "min": float(e.min()), "max": float(e.max())}
        return {"emissivity": eps, "t_refl_k": self.t_refl, "tau": self.tau,
                "t_atm_k": self._t_atm, "band_um": list(self.band)}

    @property
    def _t_atm(self):
        return self.t_refl if self.t_atm is None else self.t_atm

    def background(self) -> np.ndarray:
        r"""The radiance not from the object: :math:`\tau (1-\varepsilon) L(T_\text{refl}) +
        (1-\tau) L(T_\text{atm})`."""
        e = np.asarray(self.emissivity, dtype=np.float64)
        out = np.zeros_like(e)
        if self.t_refl is not None:
            out = out + self.tau * (1 - e) * band_radiance(self.t_refl, self.band)
        if self.tau < 1:
            out = out + (1 - self.tau) * band_radiance(self._t_atm, self.band)
        return out


def _interp_radiance(t, band):
    """L(t) and dL/dT(t) from the band's table (linear interpolation, < 1e-6 relative)."""
    table, slope = _table(tuple(band))
    return np.interp(t, T_GRID, table), np.interp(t, T_GRID, slope)


def object_temperature(apparent, radiometry: Radiometry, variance=None):
    r"""Object temperature from the apparent temperature, pixel by pixel, with its variance.

    .. math:: L(T) = \frac{L(T_\text{app}) - \tau (1-\varepsilon) L(T_\text{refl})
              - (1-\tau) L(T_\text{atm})}{\tau \varepsilon}, \qquad
              \operatorname{Var} T \approx \left(\frac{dT}{dT_\text{app}}\right)^2
              \operatorname{Var} T_\text{app}, \quad
              \frac{dT}{dT_\text{app}} = \frac{L'(T_\text{app})}{\tau \varepsilon L'(T)}

    (the delta method: the conversion is smooth and the restored σ is a few tens of mK, so its
    first-order term is exact to well within a percent). The conversion is applied after the
    restoration, which is done in apparent temperature: the camera operator, NETD and
    regularisers are all defined on the apparent temperature (what the detector measures,
    linear in the scene radiance over the few kelvin a PSF mixes), and the per-pixel
    conversion is exact, so restoring first and converting then adds no error but the noise
    propagation. With ε = 1 and τ = 1 the input is returned unchanged (bit for bit).

    Parameters
    ----------
    apparent : torch.Tensor or numpy.ndarray, shape (..., H, W)
        Apparent temperature, K.
    radiometry : Radiometry
        Emissivity (number or (H, W) map), reflected temperature, atmosphere.
    variance : torch.Tensor or numpy.ndarray, shape of ``apparent``, optional
        Variance of the apparent temperature, K².

    Returns
    -------
    temperature : same type and shape as ``apparent``
        Object temperature, K (float64).
    variance : same type and shape, or None
        Its variance, K² (None when ``variance`` is None).

    Raises
    ------
    InputError
        If the emissivity map's shape is not (H, W), or the object radiance is not positive
        (the apparent temperature is below what the surroundings alone send).

    Examples
    --------
    >>> r = Radiometry(0.9, t_refl=293.15)
    >>> t_app = apparent_temperature(330.0, 0.9, 293.15)
    >>> round(float(object_temperature(np.array(t_app), r)[0]), 3)
    330.0
    """
    if radiometry.is_identity:
        return apparent, variance
    radiometry.check_shape(np.shape(apparent)[-2:])
    is_torch = hasattr(apparent, "numpy")
    t_app = apparent.detach().cpu().numpy() if is_torch else np.asarray(apparent)
    t_app = t_app.astype(np.float64)
    scale = radiometry.tau * np.asarray(radiometry.emissivity, dtype=np.float64)
    l_app, d_app = _interp_radiance(t_app, radiometry.band)
    l_obj = (l_app - radiometry.background()) / scale
    if np.any(l_obj <= 0):
        raise InputError("apparent temperature", f"{float(t_app.min()):g} K",
                         "a scene warmer than what the surroundings alone send "
                         "(check --t-refl, --emissivity, --tau)")
    table, _ = _table(tuple(radiometry.band))
    t_obj = np.interp(l_obj, table, T_GRID)
    t_obj = _newton(t_obj, l_obj, radiometry.band)
    var = None
    if variance is not None:
        v = variance.detach().cpu().numpy() if hasattr(variance, "numpy") else variance
        _, d_obj = _interp_radiance(t_obj, radiometry.band)
        var = (d_app / (scale * d_obj)) ** 2 * np.asarray(v, dtype=np.float64)
    if is_torch:
        import torch

        return torch.from_numpy(t_obj), None if var is None else torch.from_numpy(var)
    return t_obj, var


def _newton(t, radiance, band, steps: int = 1):
    """Newton steps on L(T) = radiance with the tabulated L and L' (removes the table's
    linear-interpolation bias of L⁻¹)."""
    for _ in range(steps):
        value, slope = _interp_radiance(t, band)
        t = t - (value - radiance) / slope
    return t


def read_emissivity(value: str | float):
    """An emissivity from the command line: a number, or a map file (.npy, .tif / .tiff).

    Parameters
    ----------
    value : str or float
        ``"0.95"`` or a path to a 2-D map of emissivities on the object grid.

    Returns
    -------
    float or numpy.ndarray, shape (H, W), float64
        The emissivity (its range is checked by ``Radiometry``).

    Raises
    ------
    InputError
        If ``value`` is neither a number nor a readable 2-D .npy / .tif map.

    Examples
    --------
    >>> read_emissivity("0.95")
    0.95
    """
    from pathlib import Path

    try:
        return float(value)
    except ValueError:
        pass
    path = Path(str(value))
    if path.suffix.lower() not in (".npy", ".tif", ".tiff") or not path.is_file():
        raise InputError("emissivity", str(value),
                         "a number in (0, 1] or an existing .npy / .tif emissivity map")
    try:
        if path.suffix.lower() == ".npy":
            arr = np.load(path, allow_pickle=False)
        else:
            import tifffile

            arr = tifffile.imread(path)
    except (OSError, ValueError) as err:
        raise InputError("emissivity", str(path), "a readable map", str(err)) from None
    if arr.ndim != 2 or not np.issubdtype(arr.dtype, np.number):
        raise InputError("emissivity", f"{path.name} ({arr.dtype}, shape {arr.shape})",
                         "a 2-D numeric map")
    return arr.astype(np.float64)
