"""FORMATS: the one registry of output formats, name -> Format(render(report) -> str).

A Report carries the rows to render (fields as written, and a display form for
people) and, for event reports, the events and their log, which the exporters
(markdown, html, latex, ics, timelinejs) need. Human formats show control
characters escaped; machine formats (csv, tsv, json, jsonl, yaml) carry every
value exactly. tabulate and the exporters are imported only when they render.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from typing import Any

from tracker.dates import date_label
from tracker.model import EVENT_FIELDS, Event, Log
from tracker.nodes import plain

Record = dict[str, Any]

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

# Names tabulate uses for formats that tracker's own exporters do better.
OVERRIDDEN_TABULATE_FORMATS = frozenset(("html", "latex"))

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# OWASP's CSV injection rule: a spreadsheet treats a cell starting with these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Report:
    """What a format renders.

    `records` hold values as written; `display` the same rows for people (dates as
    labels, actors by registry name). `columns` empty means every field. Event
    reports also carry `events` and `log`; `title` and `scope` describe the
    selection; `raw` turns off the CSV injection guard.
    """

    records: Iterable[Record]
    columns: Sequence[str] = ()
    display: Sequence[Record] | None = None
    events: Sequence[Event] | None = None
    log: Log | None = None
    title: str = "Timeline"
    scope: str = ""
    generated: datetime = field(default_factory=lambda: datetime.now().replace(microsecond=0))
    raw: bool = False

    @property
    def display_records(self) -> Sequence[Record]:
        return self.display if self.display is not None else self.records


Renderer = Callable[[Report], str]
Writer = Callable[[Report, Callable[[str], None]], None]


@dataclass(frozen=True)
class Format:
    """An output format: its name, one line of help, its renderer, and what it needs.

    `events_only` formats export events and cannot render other tables (actors,
    stats); `all_fields` formats show every field unless columns are chosen.
    """

    name: str
    help: str
    render: Renderer
    events_only: bool = False
    all_fields: bool = False
    machine: bool = False
    default_columns: tuple[str, ...] = ()
    write: Writer | None = None  # writes the rows as they come (a full export never holds every event)


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


def event_report(
    events: Sequence[Event],
    log: Log,
    *,
    columns: Sequence[str] = (),
    title: str = "Timeline",
    scope: str = "",
    raw: bool = False,
    generated: datetime | None = None,
) -> Report:
    """A Report of `events`: fields as written, and for people the date as a label and actors by registry name."""
    display = [
        {**event.fields, "date": date_label(event.date, event.end), "actors": log.event_actors(event)}
        for event in events
    ]
    report = Report(
        records=[plain(event.fields) for event in events],
        columns=columns,
        display=display,
        events=events,
        log=log,
        title=title,
        scope=scope,
        raw=raw,
    )
    if generated is not None:
        report.generated = generated
    return report


# Markdown tables: a `|` inside a cell would start a new column.
_PIPE_TABLES = frozenset(("github", "pipe"))


def _table_renderer(tablefmt: str) -> Renderer:
    def render(report: Report) -> str:
        from tabulate import tabulate

        columns = list(report.columns)
        rows = [
            [escape_controls(cell_text(record.get(column))) for column in columns] for record in report.display_records
        ]
        if tablefmt in _PIPE_TABLES:
            rows = [[cell.replace("|", "\\|") for cell in row] for row in rows]
        table = tabulate(rows, headers=columns, tablefmt=tablefmt, disable_numparse=True)
        return table + "\n" if table else ""

    return render


def guard_formula(text: str) -> str:
    """`text` with a leading `'` when a spreadsheet would read it as a formula (OWASP).

    A value that already starts with quotes before such a character gets one more,
    so that unguard_formula gives back exactly what was written.
    """
    return "'" + text if text.lstrip("'").startswith(FORMULA_PREFIXES) else text


def unguard_formula(text: str) -> str:
    """Undo guard_formula: the value as written in the log."""
    return text[1:] if text.startswith("'") and text.lstrip("'").startswith(FORMULA_PREFIXES) else text


def _machine_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "; ".join(value)
    return json.dumps(value, ensure_ascii=False)


def _delimited_writer(delimiter: str) -> Writer:
    def write(report: Report, out: Callable[[str], None]) -> None:
        buffer = io.StringIO()
        # RFC 4180 line ends: with \r\n as the terminator, a cell holding a lone \r is quoted too.
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
        columns = list(report.columns) or _all_columns(report.records)  # type: ignore[arg-type]
        if not columns and report.events is not None:
            columns = list(EVENT_FIELDS)
        writer.writerow(columns)
        cell, guard = _machine_cell, guard_formula
        for record in report.records:
            cells = [
                value if value.__class__ is str else "" if value is None else cell(value)
                for value in map(record.get, columns)
            ]
            if not report.raw:
                cells = [guard(text) if text[:1] in _RISKY_STARTS else text for text in cells]
            writer.writerow(cells)
            if buffer.tell() > _CHUNK:
                out(buffer.getvalue())
                buffer.seek(0)
                buffer.truncate()
        out(buffer.getvalue())

    return write


_RISKY_STARTS = frozenset((*FORMULA_PREFIXES, "'"))  # a cell starting with none of these is never guarded
_CHUNK = 1 << 16  # characters gathered before they are handed on, when rows are written as they come


def _all_columns(records: Sequence[Record]) -> list[str]:
    """Every field of the records: the event fields in their usual order, then the others as they come."""
    present = list(dict.fromkeys(key for record in records for key in record))
    known = [name for name in EVENT_FIELDS if name in present]
    return known + [name for name in present if name not in EVENT_FIELDS]


def _project(record: Record, columns: Sequence[str]) -> Record:
    if not columns:
        return record
    return {column: record.get(column) for column in columns}


def write_json(report: Report, out: Callable[[str], None]) -> None:
    """A JSON array of records (as json.dumps with indent=2 writes it); with columns chosen, only those fields."""
    opened = False
    for record in report.records:
        text = json.dumps(_project(record, report.columns), ensure_ascii=False, indent=2)
        out(("[\n  " if not opened else ",\n  ") + text.replace("\n", "\n  "))
        opened = True
    out("\n]\n" if opened else "[]\n")


def write_jsonl(report: Report, out: Callable[[str], None]) -> None:
    """One JSON object per line (a record that carries its JSON text, as an index keeps it, is passed on)."""
    for record in report.records:
        text = None if report.columns else getattr(record, "json", None)
        out((text or json.dumps(_project(record, report.columns), ensure_ascii=False)) + "\n")


def write_yaml(report: Report, out: Callable[[str], None]) -> None:
    """Events as a log tracker reads: the log's title and registries, then the events;
    other records as a YAML list."""
    from tracker.yamltext import dump_fields, dump_list_item

    if report.log is None:
        for record in report.records:
            out(dump_list_item(_project(record, report.columns), ""))
        return
    data = report.log.data if isinstance(report.log.data, dict) else {}
    head = {key: data[key] for key in ("title", "actors", "sources") if data.get(key) is not None}
    out((dump_fields(head, "") if head else "") + "events:")
    opened = False
    for record in report.records:
        out(("\n" if not opened else "") + dump_list_item(_project(record, report.columns), "  "))
        opened = True
    if not opened:
        out(" []\n")


def _collected(write: Writer) -> Renderer:
    """A renderer returning as one text what `write` hands on piece by piece."""

    def render(report: Report) -> str:
        pieces: list[str] = []
        write(report, pieces.append)
        return "".join(pieces)

    return render


def _exporter(module: str) -> Renderer:
    def render(report: Report) -> str:
        return import_module(f"tracker.exporters.{module}").render(report)

    return render


FORMATS: dict[str, Format] = {
    "table": Format("table", "aligned columns for the terminal (tabulate 'simple')", _table_renderer("simple")),
    "csv": Format(
        "csv",
        "comma-separated values, a header row, every field; safe for spreadsheets",
        _collected(_delimited_writer(",")),
        all_fields=True,
        machine=True,
        write=_delimited_writer(","),
    ),
    "tsv": Format(
        "tsv",
        "tab-separated values, a header row, every field; safe for spreadsheets",
        _collected(_delimited_writer("\t")),
        all_fields=True,
        machine=True,
        write=_delimited_writer("\t"),
    ),
    "json": Format(
        "json",
        "a JSON array of objects, fields as written in the log",
        _collected(write_json),
        all_fields=True,
        machine=True,
        write=write_json,
    ),
    "jsonl": Format(
        "jsonl", "one JSON object per line", _collected(write_jsonl), all_fields=True, machine=True, write=write_jsonl
    ),
    "yaml": Format(
        "yaml",
        "a YAML list of events, itself a log tracker reads",
        _collected(write_yaml),
        all_fields=True,
        machine=True,
        write=write_yaml,
    ),
    "markdown": Format(
        "markdown", "a briefing: table, then a section per event (GitHub Markdown)", _exporter("markdown")
    ),
    "html": Format("html", "one self-contained page with a visual vertical timeline", _exporter("html")),
    "latex": Format(
        "latex",
        "a longtable fragment, LaTeX special characters escaped",
        _exporter("latex"),
        default_columns=("date", "title", "actors"),
    ),
    "ics": Format("ics", "an iCalendar (RFC 5545) file for calendar programs", _exporter("ics"), events_only=True),
    "timelinejs": Format("timelinejs", "TimelineJS3 JSON, loadable as is", _exporter("timelinejs"), events_only=True),
}
FORMATS.update(
    {
        name: Format(name, f"tabulate's '{name}' table", _table_renderer(name))
        for name in TABULATE_FORMATS
        if name not in FORMATS and name not in OVERRIDDEN_TABULATE_FORMATS
    }
)


# Where `tracker export --output FILE` takes the format from when --format is not given.
FORMAT_BY_SUFFIX = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".tex": "latex",
    ".ics": "ics",
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".yaml": "yaml",
    ".yml": "yaml",
}


def bar(value: int, largest: int, width: int = 40) -> str:
    """A horizontal bar of block characters, `width` cells for `largest`, eighths for the rest."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value * width * 8 / largest))
    return "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]


def render(format_name: str, report: Report) -> str:
    """Render `report` in the named format (a KeyError names an unknown format)."""
    return FORMATS[format_name].render(report)
