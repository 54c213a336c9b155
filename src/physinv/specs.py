"""The spec mini-language shared by the CLI and the experiments: ``kind[:sub][:key=value,...]``.

Examples: ``blur:gaussian:sigma=2``, ``blur:motion:length=9,angle=30``, ``blur:psf.npy``,
``sr:gaussian:sigma=1,factor=2``, ``radon:angles=60``, ``mask:ratio=0.5,seed=0``,
``gaussian:sigma=0.01``. Values are parsed as int, float, bool (true/false) or kept as text.
"""

from __future__ import annotations

from physinv.errors import InputError


def _value(text: str):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_spec(spec: str, argument: str) -> tuple[str, list[str], dict]:
    """Split ``spec`` into (kind, positional words, keyword parameters).

    The spec is ``kind[:word...][:key=value,...]``: parts separated by ``:``; a part holding
    ``=`` is a comma-separated list of ``key=value`` pairs, any other part a positional word.
    The kind is lower-cased, ``-`` in keys becomes ``_``, and values are parsed as bool
    (``true``/``false``, any case), int, float, or kept as text.

    Parameters
    ----------
    spec : str
        The spec, e.g. ``"blur:gaussian:sigma=2"``.
    argument : str
        The name of the option it came from, for error messages.

    Returns
    -------
    kind : str
    words : list of str
    params : dict

    Raises
    ------
    InputError
        For an empty or non-string spec, or a parameter part that is not ``key=value``.

    Examples
    --------
    >>> parse_spec("blur:motion:length=9,angle=30.5", "op")
    ('blur', ['motion'], {'length': 9, 'angle': 30.5})
    >>> parse_spec("Mask:ratio=0.5,seed=0,circular=true", "op")
    ('mask', [], {'ratio': 0.5, 'seed': 0, 'circular': True})
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(argument, spec, "a spec such as 'kind:key=value'")
    parts = spec.strip().split(":")
    kind = parts[0].strip().lower()
    words: list[str] = []
    params: dict = {}
    for part in parts[1:]:
        if "=" in part:
            for item in part.split(","):
                if not item.strip():
                    continue
                key, eq, value = item.partition("=")
                if not eq or not key.strip():
                    raise InputError(argument, spec, "parameters written as key=value")
                params[key.strip().replace("-", "_")] = _value(value.strip())
        elif part.strip():
            words.append(part.strip())
    return kind, words, params
