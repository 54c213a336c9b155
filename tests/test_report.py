"""The self-contained HTML report and the image grids (groundwork of the demo issue)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from physinv.experiments.report import Report, image_grid, png_bytes


def test_report_is_self_contained_escaped_and_atomic(tmp_path):
    report = Report("physinv <demo>")
    report.section("Deblurring & co", "x < y")
    report.table([{"method": "TV", "psnr": 32.6049, "time": None},
                  {"method": "<b>", "psnr": float("nan"), "time": 1.5e5}],
                 caption="mean PSNR")
    rng = np.random.default_rng(0)
    fig = image_grid({"truth": rng.random((32, 32)), "noisy": rng.random((32, 32))},
                     truth=rng.random((32, 32)), inset=(4, 4, 8), columns=2)
    report.figure(fig, caption="grid")
    report.environment({"torch": "2.13", "threads": 2})
    path = report.write(tmp_path / "report.html")
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>") and "physinv &lt;demo&gt;" in text
    assert "&lt;b&gt;" in text and "<b>" not in text.replace("<body>", "")
    assert "32.6" in text and "1.500e+05" in text and "–" in text
    assert re.search(r'src="data:image/png;base64,[A-Za-z0-9+/=]{100,}"', text)
    assert not re.search(r'(src|href)="(http|//)', text)  # nothing fetched when opened
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_image_grid_titles_carry_psnr_and_figure_rejects_non_png():
    truth = np.zeros((16, 16))
    est = truth + 0.1
    fig = image_grid({"est": est}, truth=truth, columns=1)
    assert "20.00 dB" in fig.axes[0].get_title()
    assert png_bytes(fig).startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="PNG"):
        Report("x").figure(b"GIF89a")
