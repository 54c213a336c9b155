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
