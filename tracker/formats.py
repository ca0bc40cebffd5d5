"""FORMATS: the one registry of output formats, name -> function(records, columns) -> str.

A record is a dict of field values as written in the log (text, lists, mappings).
Human formats (tables) show control characters escaped; machine formats (csv,
tsv, json, jsonl) carry every value exactly. tabulate is imported only when a
table is rendered.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]
Renderer = Callable[[Sequence[Record], Sequence[str]], str]

# tabulate's own names (tabulate.tabulate_formats), listed here so that `--help`
# does not import tabulate; tests/test_formats.py checks the list against tabulate.
TABULATE_FORMATS = (
    "asciidoc",
    "colon_grid",
    "double_grid",
    "double_outline",
    "fancy_grid",
    "fancy_outline",
    "github",
    "grid",
    "heavy_grid",
    "heavy_outline",
    "html",
    "jira",
    "latex",
    "latex_booktabs",
    "latex_longtable",
    "latex_raw",
    "mediawiki",
    "mixed_grid",
    "mixed_outline",
    "moinmoin",
    "orgtbl",
    "outline",
    "pipe",
    "plain",
    "presto",
    "pretty",
    "psql",
    "rounded_grid",
    "rounded_outline",
    "rst",
    "simple",
    "simple_grid",
    "simple_outline",
    "textile",
    "tsv",
    "unsafehtml",
    "youtrack",
)

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


@dataclass(frozen=True)
class Format:
    """An output format: its name, one line of help, and its renderer."""

    name: str
    help: str
    render: Renderer


def escape_controls(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with control and format characters (ESC, BEL, bidi overrides...) shown as escapes.

    Keeps a news title from moving the cursor or retitling the terminal.
    """
    if text.isprintable() and not keep_newlines:
        return text
    out = []
    for char in text:
        if keep_newlines and char == "\n":
            out.append(char)
        elif char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def cell_text(value: Any, *, list_separator: str = ", ") -> str:
    """One field value as a single line of text: lists joined, quotes as `by: text`, sources by title."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "text" in value:
            by = cell_text(value.get("by"))
            return f"{by}: {cell_text(value.get('text'))}" if by else cell_text(value.get("text"))
        for key in ("title", "url", "publisher", "name", "id"):
            if value.get(key):
                return cell_text(value[key])
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        separator = "; " if any(isinstance(item, dict) for item in value) else list_separator
        return separator.join(cell_text(item) for item in value)
    return str(value)


# Markdown tables: a `|` inside a cell would start a new column.
_PIPE_TABLES = frozenset(("github", "pipe"))


def _table_renderer(tablefmt: str) -> Renderer:
    def render(records: Sequence[Record], columns: Sequence[str]) -> str:
        from tabulate import tabulate

        rows = [[escape_controls(cell_text(record.get(column))) for column in columns] for record in records]
        if tablefmt in _PIPE_TABLES:
            rows = [[cell.replace("|", "\\|") for cell in row] for row in rows]
        table = tabulate(rows, headers=list(columns), tablefmt=tablefmt, disable_numparse=True)
        return table + "\n" if table else ""

    return render


def fit_to_width(
    records: Sequence[Record], columns: Sequence[str], width: int, *, keep: Sequence[str] = ("id", "date")
) -> list[Record]:
    """Records whose cells are shortened with `…` so that a `table` fits in `width` columns.

    The widest columns give way first; none is cut below 12 characters, and the
    `keep` columns (ids people copy, dates) never are.
    """
    texts = [[escape_controls(cell_text(record.get(column))) for column in columns] for record in records]
    widths = [max([len(column), *(len(row[index]) for row in texts)]) for index, column in enumerate(columns)]
    excess = sum(widths) + 2 * (len(columns) - 1) - width
    while excess > 0:
        shrinkable = [index for index, column in enumerate(columns) if column not in keep]
        widest = max(shrinkable, key=lambda index: widths[index], default=None)
        if widest is None or widths[widest] <= 12:
            break
        widths[widest] -= 1
        excess -= 1
    return [
        {
            column: text if len(text) <= limit else text[: limit - 1] + "…"
            for column, text, limit in zip(columns, row, widths, strict=True)
        }
        for row in texts
    ]


def _machine_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "; ".join(value)
    return json.dumps(value, ensure_ascii=False)


def _delimited_renderer(delimiter: str) -> Renderer:
    def render(records: Sequence[Record], columns: Sequence[str]) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
        writer.writerow(columns)
        for record in records:
            writer.writerow([_machine_cell(record.get(column)) for column in columns])
        return buffer.getvalue()

    return render


def _project(record: Record, columns: Sequence[str] | None) -> Record:
    if not columns:
        return record
    return {column: record.get(column) for column in columns}


def render_json(records: Sequence[Record], columns: Sequence[str]) -> str:
    """A JSON array of records; with columns chosen, only those fields."""
    chosen = columns if columns else None
    return json.dumps([_project(record, chosen) for record in records], ensure_ascii=False, indent=2) + "\n"


def render_jsonl(records: Sequence[Record], columns: Sequence[str]) -> str:
    """One JSON object per line."""
    chosen = columns if columns else None
    return "".join(json.dumps(_project(record, chosen), ensure_ascii=False) + "\n" for record in records)


FORMATS: dict[str, Format] = {
    "table": Format("table", "aligned columns for the terminal (tabulate 'simple')", _table_renderer("simple")),
    **{name: Format(name, f"tabulate's '{name}' table", _table_renderer(name)) for name in TABULATE_FORMATS},
    "csv": Format("csv", "comma-separated values with a header row", _delimited_renderer(",")),
    "tsv": Format("tsv", "tab-separated values with a header row", _delimited_renderer("\t")),
    "json": Format("json", "a JSON array of objects, fields as written in the log", render_json),
    "jsonl": Format("jsonl", "one JSON object per line", render_jsonl),
}

# Formats whose columns default to every field rather than the table's few.
ALL_FIELD_FORMATS = frozenset(("json", "jsonl"))


def render(format_name: str, records: Sequence[Record], columns: Sequence[str]) -> str:
    """Render `records` in the named format (a KeyError names an unknown format)."""
    return FORMATS[format_name].render(records, columns)
