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
    """Writes the history of a run into ``folder`` (only on the main process)."""

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
        if self.writer is not None:
            self.writer.close()


def summary_line(result) -> str:
    """One line that says how a run ended."""
    return (f"best {result.score_name} {result.best_score:.3f} at epoch {result.best_epoch}; "
            f"{len(result.history) - 1} epochs, {result.n_steps} steps, "
            f"{result.train_s:.1f} s; stopped: {result.stop_reason}")
