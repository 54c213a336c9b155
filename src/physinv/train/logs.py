"""Per-epoch metrics of a training run: ``metrics.csv``, ``metrics.jsonl`` and, when the
``tensorboard`` package is installed (``pip install physinv[tensorboard]``), TensorBoard event
files under ``tensorboard/``.

The CSV and JSONL files are rewritten atomically from the run's history at each epoch (a few
hundred rows at most), so after a crash and a resume they hold exactly the epochs of the
resumed history — never a row of an epoch that was redone.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from physinv.io import atomic_write

COLUMNS = ("epoch", "step", "train_loss", "val", "lr", "seconds")


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class RunLog:
    """Writes the history of a run into ``folder`` (only on the main process).

    Parameters
    ----------
    folder : str or Path
        The run folder (it must exist): ``metrics.csv``, ``metrics.jsonl`` and
        ``tensorboard/`` go there.
    tensorboard : bool, default True
        Also write TensorBoard events, if ``torch.utils.tensorboard`` can be imported
        (silently none otherwise).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> log = RunLog(folder, tensorboard=False)
    >>> log.write([{"epoch": 0, "val": 20.5}, {"epoch": 1, "train_loss": 0.1, "val": 21.0}])
    >>> log.close()
    >>> print((folder / "metrics.csv").read_text(), end="")
    epoch,step,train_loss,val,lr,seconds
    0,,,20.5,,
    1,,0.1,21.0,,
    >>> import shutil
    >>> shutil.rmtree(folder)
    """

    def __init__(self, folder, tensorboard: bool = True):
        self.folder = Path(folder)
        self.writer = None
        self.logged_epoch = -1
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # the optional extra is not installed
                SummaryWriter = None
            if SummaryWriter is not None:
                self.writer = SummaryWriter(str(self.folder / "tensorboard"))

    def write(self, history: list[dict]) -> None:
        """Rewrite the metrics files from the whole ``history``.

        ``metrics.csv`` and ``metrics.jsonl`` are replaced atomically, one row per entry, with
        the columns ``COLUMNS`` (a missing key or a non-finite float becomes empty / null);
        TensorBoard receives ``train_loss``, ``val`` and ``lr`` of the epochs it has not seen.

        Parameters
        ----------
        history : list of dict
            One dict per epoch, with ``epoch`` (int) and any of ``step``, ``train_loss``,
            ``val``, ``lr``, ``seconds``.
        """
        rows = [{k: _clean(row.get(k)) for k in COLUMNS} for row in history]
        buffer = io.StringIO()
        table = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        table.writeheader()
        table.writerows(rows)
        text = buffer.getvalue()
        atomic_write(self.folder / "metrics.csv", lambda tmp: Path(tmp).write_text(text))
        lines = "".join(json.dumps(row) + "\n" for row in rows)
        atomic_write(self.folder / "metrics.jsonl", lambda tmp: Path(tmp).write_text(lines))
        if self.writer is not None:
            for row in rows:
                if row["epoch"] <= self.logged_epoch:
                    continue
                for key in ("train_loss", "val", "lr"):
                    if row[key] is not None:
                        self.writer.add_scalar(key, row[key], row["epoch"])
                self.logged_epoch = row["epoch"]
            self.writer.flush()

    def close(self) -> None:
        """Close the TensorBoard writer, if there is one."""
        if self.writer is not None:
            self.writer.close()


def summary_line(result) -> str:
    """One line that says how a run ended."""
    return (f"best {result.score_name} {result.best_score:.3f} at epoch {result.best_epoch}; "
            f"{len(result.history) - 1} epochs, {result.n_steps} steps, "
            f"{result.train_s:.1f} s; stopped: {result.stop_reason}")
