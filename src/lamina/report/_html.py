"""HTML building blocks: escaping, tables, embedded figures, the page template (inline CSS)."""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable, Sequence
from typing import Any

from matplotlib.figure import Figure

CSS = """
:root { --ink:#1d2733; --muted:#5b6675; --line:#d9dee5; --bg:#f6f8fa; --accent:#1f5fa8;
        --high:#b42318; --medium:#b54708; --low:#175cd3; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.55 -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color:var(--ink); background:#fff; }
header { background:var(--accent); color:#fff; padding:28px 40px 22px; }
header h1 { margin:0 0 6px; font-size:26px; }
header p { margin:0; opacity:.9; }
nav { background:var(--bg); border-bottom:1px solid var(--line); padding:10px 40px;
      font-size:14px; }
nav a { margin-right:16px; color:var(--accent); text-decoration:none; }
main { max-width:1180px; margin:0 auto; padding:12px 40px 60px; }
h2 { margin-top:40px; padding-bottom:6px; border-bottom:2px solid var(--line); }
h3 { margin-top:28px; }
p.lead { color:var(--muted); max-width:900px; }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin:16px 0; }
.card { background:var(--bg); border:1px solid var(--line); border-radius:8px;
        padding:10px 16px; min-width:150px; }
.card b { display:block; font-size:22px; }
.card span { color:var(--muted); font-size:13px; }
table { border-collapse:collapse; margin:10px 0 18px; font-size:13.5px; }
th, td { border:1px solid var(--line); padding:5px 9px; text-align:left; vertical-align:top; }
th { background:var(--bg); }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.sev { font-weight:600; text-transform:uppercase; font-size:12px; }
.sev-high { color:var(--high); } .sev-medium { color:var(--medium); } .sev-low { color:var(--low); }
.ok { color:#067647; font-weight:600; }
figure { margin:14px 0 22px; }
figure img { max-width:100%; border:1px solid var(--line); border-radius:6px; }
figcaption { color:var(--muted); font-size:13px; margin-top:4px; max-width:900px; }
dl.glossary dt { font-weight:600; margin-top:10px; }
dl.glossary dd { margin:2px 0 0 18px; color:var(--muted); max-width:900px; }
details { margin:8px 0 20px; }
summary { cursor:pointer; color:var(--accent); }
.layer { border-top:1px solid var(--line); }
footer { color:var(--muted); font-size:12.5px; border-top:1px solid var(--line);
         padding:16px 40px; }
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: Any) -> str:
    """Numbers to short text: 4 significant digits, NaN as an em dash."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "&mdash;"
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3g}"
        return f"{value:.4g}"
    try:
        import numpy as np

        if isinstance(value, np.bool_):
            return "yes" if bool(value) else "no"
        if isinstance(value, np.integer):
            return fmt(int(value))
        if isinstance(value, np.floating):
            return fmt(float(value))
    except ImportError:  # pragma: no cover
        pass
    return esc(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], css: str = "") -> str:
    """A plain HTML table; numeric cells right-aligned."""
    out = [f'<table class="{esc(css)}"><thead><tr>'
           + "".join(f"<th>{esc(h)}</th>" for h in headers) + "</tr></thead><tbody>"]
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, Raw):
                cells.append(f"<td>{value.html}</td>")
            elif _is_number(value):
                cells.append(f'<td class="num">{fmt(value)}</td>')
            else:
                cells.append(f"<td>{esc(value)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


class Raw:
    """Pre-built HTML to put in a table cell unescaped."""

    def __init__(self, html_text: str) -> None:
        self.html = html_text


def _is_number(value: Any) -> bool:
    try:
        import numpy as np

        return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, bool)
    except ImportError:  # pragma: no cover
        return isinstance(value, (int, float)) and not isinstance(value, bool)


def figure_html(fig: Figure, caption: str, alt: str, dpi: int = 80) -> str:
    """Embed a figure as a base64 PNG with a caption."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'<figure><img alt="{esc(alt)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def page(title: str, subtitle: str, nav: list[tuple[str, str]], body: str, footer: str) -> str:
    links = "".join(f'<a href="#{esc(anchor)}">{esc(label)}</a>' for anchor, label in nav)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>"
        f"<nav>{links}</nav><main>{body}</main><footer>{footer}</footer></body></html>\n")
