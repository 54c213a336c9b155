"""One row type and one summariser for every benchmark suite (classical, peers, nets, ir).

A ``Row`` is one method on one test image of one task; ``row.to_dict()`` is what a suite's JSON
holds under ``"rows"`` (the fields, then the suite-specific ``extra`` fields flattened in:
``stop_reason`` and ``best_epoch`` for networks, ``rmse_k``, ``coverage``, ``dice`` for
infrared...). ``summarize`` groups rows and reduces each metric by mean (values that are None
left out), median or first value.

>>> rows = [Row("denoise", "tv", image=i, psnr=p, ssim=0.8) for i, p in enumerate((30., 32.))]
>>> summarize([r.to_dict() for r in rows])[0]["psnr"]
31.0
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np


@dataclass
class Row:
    """One benchmark measurement.

    Parameters
    ----------
    task, method : str
        Protocol task and method name.
    image : str or int
        Test image name (infrared: the scene's seed).
    library : str
        Whose implementation (``physinv``, ``scikit-image``, ``deepinv``).
    family : str, optional
        Structure class (network family, ``classical``, ``limit``...); omitted when None.
    n_train : int or None
        Training images the method saw (0: none; None: not applicable).
    psnr, ssim : float or None
        Scores (dB; SSIM on [0, 1]).
    infer_ms, train_s : float
        Inference time per image (ms) and tuning or training time (s).
    params_trainable, params_fixed : int
        Learned values and fixed values (the operator's buffers).
    hyper : object
        The hyper-parameter used (λ, iterations, filter name...).
    extra : dict
        Suite-specific fields, flattened into ``to_dict()``.
    """

    task: str
    method: str
    image: str | int
    library: str = "physinv"
    family: str | None = None
    n_train: int | None = 0
    psnr: float | None = None
    ssim: float | None = None
    infer_ms: float = 0.0
    train_s: float = 0.0
    params_trainable: int = 0
    params_fixed: int = 0
    hyper: object = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The row as the suites' JSON holds it.

        Returns
        -------
        dict
            The fields in order, without ``family`` when it is None, then the ``extra``
            fields (which may override a field of the same name).
        """
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        if out["family"] is None:
            del out["family"]
        out.update(self.extra)
        return out


def summarize(rows: list[dict], by=("task", "method", "library"), mean=("psnr", "ssim"),
              median=("infer_ms",), first=("train_s", "hyper"), count: str = "n_images",
              sort: bool = False) -> list[dict]:
    """One summary entry per group of rows.

    Parameters
    ----------
    rows : list of dict
        ``Row.to_dict()`` outputs.
    by : tuple of str, default ("task", "method", "library")
        The keys that define a group (in first-seen order, or sorted with ``sort``).
    mean, median : tuple of str, default ("psnr", "ssim") and ("infer_ms",)
        Metrics reduced by their mean (None values left out; None if all are) / median.
    first : tuple of str, default ("train_s", "hyper")
        Keys whose value is taken from the group's first row.
    count : str, default "n_images"
        Name of the entry holding the group's size.
    sort : bool, default False
        Sort the groups by their keys.

    Returns
    -------
    list of dict
        ``{by keys..., mean..., median..., first..., count}`` per group.
    """
    groups: dict = {}
    for r in rows:
        groups.setdefault(tuple(r.get(k) for k in by), []).append(r)
    keys = sorted(groups, key=lambda k: tuple(str(v) for v in k)) if sort else list(groups)
    out = []
    for key in keys:
        group = groups[key]
        entry = dict(zip(by, key, strict=True))
        for metric in mean:
            values = [r[metric] for r in group if r.get(metric) is not None]
            entry[metric] = float(np.mean(values)) if values else None
        for metric in median:
            entry[metric] = float(np.median([r[metric] for r in group]))
        for name in first:
            entry[name] = group[0].get(name)
        entry[count] = len(group)
        out.append(entry)
    return out
