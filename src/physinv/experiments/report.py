"""The report a run writes: one self-contained HTML file (figures embedded as PNG data, no
external style sheet, script or font), built section by section, and the image grids that go
into it (each panel with its PSNR and a zoomed inset).

>>> report = Report("demo")
>>> report.section("Deblurring", "Every number comes from this run.")
>>> report.table([{"method": "TV", "psnr": 32.6}], caption="mean PSNR (dB)")
>>> "<table>" in report.html()
True
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import numpy as np

from physinv.io import atomic_write

STYLE = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
h1 { border-bottom: 2px solid #444; } h2 { margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th { background: #eee; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0; } figcaption { font-size: 0.9em; color: #555; }
img { max-width: 100%; } .note { color: #555; font-size: 0.9em; }
"""


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if not math.isfinite(value):
            return html.escape(str(value))
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"
    return html.escape(str(value))


def png_bytes(fig) -> bytes:
    """A matplotlib figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


class Report:
    """Sections of text, tables and embedded figures; ``write(path)`` is atomic.

    Every text is HTML-escaped; the parts are kept in the order they are added.

    Parameters
    ----------
    title : str
        The page's title and its ``<h1>`` heading.

    Examples
    --------
    >>> report = Report("run")
    >>> report.table([{"method": "TV", "psnr": 32.61234, "n": None}])
    >>> "<td>TV</td><td>32.61</td><td>–</td>" in report.parts[-1]  # 4 digits; None: a dash
    True
    """

    def __init__(self, title: str):
        self.title = str(title)
        self.parts: list[str] = []

    def section(self, title: str, text: str | None = None) -> None:
        """Start a section: an ``<h2>`` heading, then ``text`` as a paragraph if given.

        Parameters
        ----------
        title : str
            The heading.
        text : str, optional
            An introductory paragraph.
        """
        self.parts.append(f"<h2>{html.escape(title)}</h2>")
        if text:
            self.parts.append(f"<p>{html.escape(text)}</p>")

    def text(self, text: str, note: bool = False) -> None:
        """Add a paragraph.

        Parameters
        ----------
        text : str
            The paragraph (escaped).
        note : bool, default False
            Set it as a note (smaller, grey: class ``note``).
        """
        cls = ' class="note"' if note else ""
        self.parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def table(self, rows: list[dict], columns: list[str] | None = None,
              caption: str | None = None) -> None:
        """Add a table, one row per dict.

        Cells: None as "–", finite floats with 4 significant digits (below 10⁴) or as
        ``1.234e+05``, anything else as its text. Without rows, the note "(no rows)".

        Parameters
        ----------
        rows : list of dict
            The rows; a key a row lacks gives an empty cell ("–").
        columns : list of str, optional
            The columns, in order (default: the first row's keys).
        caption : str, optional
            The table's caption.
        """
        if not rows:
            self.text("(no rows)", note=True)
            return
        columns = columns or list(rows[0])
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in columns)
                       + "</tr>" for r in rows)
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self.parts.append(f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}"
                          "</tbody></table>")

    def figure(self, image, caption: str | None = None) -> None:
        """``image``: PNG bytes, a PNG file path, or a matplotlib figure (embedded as data)."""
        if isinstance(image, (str, Path)):
            data = Path(image).read_bytes()
        elif isinstance(image, bytes):
            data = image
        else:
            data = png_bytes(image)
        if not data.startswith(b"\x89PNG"):
            raise ValueError("figure: expected PNG data")
        encoded = base64.b64encode(data).decode("ascii")
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self.parts.append(f'<figure><img alt="{html.escape(caption or "figure")}" '
                          f'src="data:image/png;base64,{encoded}">{cap}</figure>')

    def environment(self, env: dict) -> None:
        """Add an "Environment" section: a table of item / value, e.g. of
        ``physinv.io.environment()``.

        Parameters
        ----------
        env : dict
            Item name → value.
        """
        self.section("Environment")
        self.table([{"item": k, "value": v} for k, v in env.items()], ["item", "value"])

    def html(self) -> str:
        """The whole report as one self-contained HTML page (the style inlined).

        Returns
        -------
        str
        """
        return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head><body>"
                f"<h1>{html.escape(self.title)}</h1>" + "\n".join(self.parts)
                + "</body></html>\n")

    def write(self, path) -> Path:
        """Write ``html()`` to ``path`` atomically, UTF-8.

        Parameters
        ----------
        path : str or Path
            The file, in an existing folder.

        Returns
        -------
        Path
            ``path``.
        """
        text = self.html()
        return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def image_grid(panels: dict, truth=None, inset: tuple[int, int, int] | None = None,
               columns: int = 4, data_range: float = 1.0):
    """A matplotlib figure: one panel per (name → (H, W) image), the PSNR against ``truth``
    in each title, and a ×3 zoom of the square ``inset`` = (row, col, size) in a corner."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    names = list(panels)
    rows = math.ceil(len(names) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.3 * rows), squeeze=False)
    ref = None if truth is None else np.asarray(truth, dtype=np.float64)
    for ax in axes.flat:
        ax.axis("off")
    for ax, name in zip(axes.flat, names, strict=False):
        img = np.asarray(panels[name], dtype=np.float64)
        ax.imshow(img, cmap="gray", vmin=0, vmax=data_range, interpolation="nearest")
        title = name
        if ref is not None and img.shape == ref.shape:
            mse = float(np.mean((img - ref) ** 2))
            title += f"\n{10 * math.log10(data_range**2 / mse):.2f} dB" if mse > 0 \
                else "\n(reference)"
        ax.set_title(title, fontsize=9)
        if inset is not None:
            r, c, s = inset
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), s, s, fill=False, color="yellow", lw=1))
            zoom = ax.inset_axes([0.6, 0.0, 0.4, 0.4])
            zoom.imshow(img[r: r + s, c: c + s], cmap="gray", vmin=0, vmax=data_range,
                        interpolation="nearest", extent=(0, s, s, 0))
            zoom.set_xticks([])
            zoom.set_yticks([])
            for spine in zoom.spines.values():
                spine.set_color("yellow")
    fig.tight_layout()
    return fig
