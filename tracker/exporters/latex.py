"""A LaTeX longtable fragment (needs \\usepackage{longtable}), special characters escaped."""

from __future__ import annotations

import re

from tracker.formats import Report, cell_text, escape_controls

_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "`": r"\textasciigrave{}",
    "–": r"\textendash{}",
    "—": r"\textemdash{}",
}
_SPECIAL_PATTERN = re.compile("|".join(re.escape(char) for char in _SPECIALS))

# Column widths as fractions of \linewidth, by field; other fields share what is left.
_WIDTHS = {"date": 0.17, "id": 0.22, "title": 0.42, "actors": 0.25, "summary": 0.45}


def escape(text: str) -> str:
    """`text` safe in LaTeX body text: the ten special characters, <, >, |, ` replaced, no ligatures
    (`--`, `?``), controls escaped; a leading `[` or `*` cannot be read as an option of the row before."""
    escaped = _SPECIAL_PATTERN.sub(lambda match: _SPECIALS[match[0]], escape_controls(text))
    escaped = escaped.replace("--", "-{}-").replace("--", "-{}-")
    return "{}" + escaped if escaped.startswith(("[", "*")) else escaped


def render(report: Report) -> str:
    """A longtable of the report's columns, with a repeating header."""
    columns = list(report.columns) or ["date", "title", "actors"]
    widths = _column_widths(columns)
    spec = "".join(f"p{{{width:.2f}\\linewidth}}" for width in widths)
    header = " & ".join(f"\\textbf{{{escape(column.capitalize())}}}" for column in columns) + r" \\"
    lines = [
        "% tracker export: a longtable fragment; needs \\usepackage{longtable} in the preamble",
        f"\\begin{{longtable}}{{{spec}}}",
        r"\hline",
        header,
        r"\hline",
        r"\endfirsthead",
        r"\hline",
        header,
        r"\hline",
        r"\endhead",
        r"\hline",
        r"\endfoot",
    ]
    for record in report.display_records:
        cells = [escape(cell_text(record.get(column)).replace("\n", " ")) for column in columns]
        lines.append(" & ".join(cells) + r" \\")
    lines.append(r"\end{longtable}")
    return "\n".join(lines) + "\n"


def _column_widths(columns: list[str]) -> list[float]:
    usable = 0.94 - 0.02 * len(columns)
    known = [_WIDTHS.get(column) for column in columns]
    fixed = sum(width for width in known if width is not None)
    free = [index for index, width in enumerate(known) if width is None]
    scale = min(1.0, usable / fixed) if fixed else 1.0
    rest = max(usable - fixed * scale, 0.1 * len(free)) / len(free) if free else 0.0
    return [width * scale if width is not None else rest for width in known]
