"""Reading events from other files (yaml, json, jsonl, csv, timelinejs) and vetting them for a log.

Every row is validated before anything is written: one bad row stops the import
and names its row number. Ids are kept (a clash with the log is an error) or
made as `add` makes them; an event with the date and title of one already there
is a duplicate and skipped unless duplicates are allowed.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tracker.dates import parse_date, parse_user_date
from tracker.errors import DateError, Location, LogError, TrackerError, UsageError
from tracker.model import (
    EVENT_FIELDS,
    LIST_FIELDS,
    STATUSES,
    Log,
    make_event_id,
    raw_events,
)
from tracker.nodes import DateText, plain

IMPORT_FORMATS = ("yaml", "json", "jsonl", "csv", "tsv", "timelinejs")
IMPORT_SUFFIXES = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
}
# Columns that --map may target besides event fields: the parts of a date, as spreadsheets split them.
DATE_PART_FIELDS = ("year", "month", "day", "time", "end_year", "end_month", "end_day", "end_time")


@dataclass
class Row:
    """One incoming event: where it came from (`row 3`, `line 12`) and its fields."""

    where: str
    fields: dict[str, Any]


@dataclass
class ImportPlan:
    """What an import adds, and what it skips as duplicates (with the id each duplicates)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)


def guess_format(name: str, text: str) -> str:
    """The format of a file from its extension, else from its first character (json or jsonl), else yaml."""
    for suffix, format_name in IMPORT_SUFFIXES.items():
        if name.lower().endswith(suffix):
            if format_name == "json" and _looks_like_timelinejs(text):
                return "timelinejs"
            return format_name
    stripped = text.lstrip()
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        if _looks_like_timelinejs(text):
            return "timelinejs"
        try:
            data = json.loads(text)
        except ValueError:
            return "jsonl"
        return "json" if isinstance(data, dict) and isinstance(data.get("events"), list) else "jsonl"
    first_line = stripped.split("\n", 1)[0]
    if "\t" in first_line and ": " not in first_line:
        return "tsv"
    if "," in first_line and not first_line.startswith(("-", "#")) and ": " not in first_line:
        return "csv"
    return "yaml"


def _looks_like_timelinejs(text: str) -> bool:
    try:
        data = json.loads(text)
    except ValueError:
        return False
    events = data.get("events") if isinstance(data, dict) else None
    return isinstance(events, list) and any(isinstance(event, dict) and "start_date" in event for event in events)


def read_rows(text: str, format_name: str, source: str, *, mapping: dict[str, str] | None = None) -> list[Row]:
    """The incoming events of `text` in `format_name`, columns renamed by `mapping` (column -> field)."""
    mapping = mapping or {}
    targets = (*EVENT_FIELDS, *DATE_PART_FIELDS)
    unknown_targets = [target for target in mapping.values() if target not in targets]
    if unknown_targets:
        raise UsageError(f"--map: '{unknown_targets[0]}' is not a field; map columns to {', '.join(targets)}")
    if format_name == "yaml":
        rows = _yaml_rows(text, source)
    elif format_name == "json":
        rows = _json_rows(text, source)
    elif format_name == "jsonl":
        rows = _jsonl_rows(text, source)
    elif format_name in ("csv", "tsv"):
        delimiter = "," if format_name == "csv" else "\t"
        rows = _csv_rows(text, source, mapping=mapping, delimiter=delimiter)
        mapping = {}
    elif format_name == "timelinejs":
        rows = _timelinejs_rows(text, source)
    else:
        raise UsageError(f"--from: '{format_name}' is not one of {', '.join(IMPORT_FORMATS)}")
    return [Row(row.where, _apply_mapping(row.fields, mapping)) for row in rows] if mapping else rows


def _yaml_rows(text: str, source: str) -> list[Row]:
    from tracker.logfile import parse_text

    log, problems = parse_text(text, source)
    events = log.data.get("events") if isinstance(log.data, dict) else log.data
    if not isinstance(events, list) and not (isinstance(log.data, dict) and events is None and "events" in log.data):
        raise LogError("holds no events: expected a log (with an 'events:' list) or a list of events", Location(source))
    errors = [problem for problem in problems if problem.is_error and "duplicate key" in problem.message]
    if errors:
        raise LogError(errors[0].message, errors[0].location)
    rows = []
    for number, fields in enumerate(raw_events(log.data), 1):
        line = getattr(fields, "start", None)
        where = f"line {line.line + 1}" if line is not None else f"event {number}"
        rows.append(Row(where, plain(fields) if isinstance(fields, dict) else {"": fields}))
    return rows


def _json_value(value: Any) -> Any:
    """JSON values as the log holds them: text, lists and mappings of text (numbers as written)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    return value


def _json_rows(text: str, source: str) -> list[Row]:
    data = _load_json(text, source)
    if isinstance(data, dict) and isinstance(data.get("events"), list):
        data = data["events"]
    if not isinstance(data, list):
        raise LogError("expected a JSON array of event objects (or an object with 'events')", Location(source))
    return [Row(f"record {number}", _object(item, source, f"record {number}")) for number, item in enumerate(data, 1)]


def _jsonl_rows(text: str, source: str) -> list[Row]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            rows.append(Row(f"line {number}", _object(_load_json(line, source, line=number), source, f"line {number}")))
    return rows


def _load_json(text: str, source: str, *, line: int | None = None) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        line = line or getattr(error, "lineno", None)
        column = getattr(error, "colno", None)
        message = getattr(error, "msg", str(error))
        raise LogError(f"invalid JSON: {message}", Location(source, line, column)) from None


def _object(item: Any, source: str, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise LogError(f"{where}: expected an object with the event's fields", Location(source))
    return _json_value(item)


def _csv_rows(text: str, source: str, *, mapping: dict[str, str], delimiter: str = ",") -> list[Row]:
    """Rows of a CSV or TSV file; with a mapping, only the mapped columns are read."""
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    if not reader.fieldnames:
        return []
    missing_columns = [column for column in mapping if column not in reader.fieldnames]
    if missing_columns:
        raise UsageError(f"--map: {source} has no column {', '.join(repr(c) for c in missing_columns)}")
    rows = []
    try:
        for record in reader:
            number = reader.line_num
            if None in record:
                raise LogError(f"row {number}: more cells than the header has columns", Location(source))
            fields: dict[str, Any] = {}
            for column, cell in record.items():
                if cell is None or cell == "" or (mapping and column not in mapping):
                    continue
                target = mapping.get(column, column)
                _collect(fields, target, _csv_cell(target, cell))
            rows.append(Row(f"row {number}", fields))
    except csv.Error as error:
        raise LogError(f"invalid CSV: {error}", Location(source, reader.line_num)) from None
    return rows


def _csv_cell(target: str, cell: str) -> Any:
    stripped = cell.strip()
    if stripped.startswith(("[", "{")) and (target in LIST_FIELDS or stripped.startswith("{")):
        try:
            return _json_value(json.loads(stripped))
        except ValueError:
            pass
    if target in LIST_FIELDS:
        return [part.strip() for part in cell.split(";") if part.strip()]
    return cell


def _collect(fields: dict[str, Any], target: str, value: Any) -> None:
    """Several columns mapped to one field: lists are joined, text is joined with a blank line."""
    if target not in fields:
        fields[target] = value
    elif isinstance(fields[target], list):
        fields[target] = fields[target] + (value if isinstance(value, list) else [value])
    else:
        fields[target] = f"{fields[target]}\n\n{value}"


def _apply_mapping(fields: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in fields.items():
        _collect(result, mapping.get(key, key), value)
    return result


def _timelinejs_rows(text: str, source: str) -> list[Row]:
    data = _load_json(text, source)
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        raise LogError("expected a TimelineJS object with an 'events' list", Location(source))
    rows = []
    for number, slide in enumerate(events, 1):
        where = f"event {number}"
        if not isinstance(slide, dict) or not isinstance(slide.get("start_date"), dict):
            raise LogError(f"{where}: a TimelineJS event needs a start_date", Location(source))
        fields: dict[str, Any] = {}
        if slide.get("unique_id"):
            fields["id"] = str(slide["unique_id"])
        display = str(slide.get("display_date") or "")
        fields["date"] = _timelinejs_date(slide["start_date"], display.split(" – ")[0])
        if isinstance(slide.get("end_date"), dict):
            fields["end"] = _timelinejs_date(slide["end_date"], display.split(" – ")[-1] if " – " in display else "")
        text_object = slide.get("text") if isinstance(slide.get("text"), dict) else {}
        fields["title"] = _html_to_text(str(text_object.get("headline") or ""))
        summary = _html_to_text(str(text_object.get("text") or ""))
        if summary:
            fields["summary"] = summary
        if slide.get("group"):
            fields["type"] = str(slide["group"])
        rows.append(Row(where, fields))
    return rows


def _timelinejs_date(parts: dict[str, Any], display: str) -> str:
    text = str(parts.get("year", ""))
    for name in ("month", "day"):
        if parts.get(name) in (None, ""):
            break
        text += f"-{int(parts[name]):02d}"
    if display.strip().startswith("c. "):
        text += "~"
    elif display.strip().endswith("?"):
        text += "?"
    return text


def _html_to_text(text: str) -> str:
    text = re.sub(r"</p>\s*<p>|<br\s*/?>", "\n\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def plan_import(
    log: Log, rows: Sequence[Row], source: str, *, today: date, allow_duplicates: bool = False
) -> ImportPlan:
    """Vet every row against `log`: the events to add in order, and the duplicates skipped.

    Asks `log` only about the ids and dates the rows hold, so that a log answered from
    its index is never read whole. Raises a TrackerError naming the row at fault for
    the first invalid row.
    """
    plan = ImportPlan()
    taken: set[str] = set()
    seen: dict[tuple[str, str], str] = {}
    for row in rows:
        try:
            fields = _vetted(row.fields, today)
        except (TrackerError, DateError) as error:
            message = error.message if isinstance(error, TrackerError) else str(error)
            raise LogError(f"{row.where}: {message}; nothing was imported", Location(source)) from None
        date = parse_date(fields["date"])
        key = (str(date), fields["title"].casefold())
        twin = seen.get(key) or next(
            (event.id for event in reversed(log.events_dated(date)) if event.title.casefold() == key[1]), None
        )
        if twin is not None and not allow_duplicates:
            plan.duplicates.append((row.where, twin))
            continue
        if "id" in fields:
            if fields["id"] in taken or log.has_event_id(fields["id"]):
                other = "an earlier row" if fields["id"] in taken else "an event in the log"
                raise LogError(
                    f"{row.where}: id '{fields['id']}' is already used by {other}; nothing was imported",
                    Location(source),
                )
        else:
            fields = {"id": make_event_id(log, date, fields["title"], taken=taken), **fields}
        taken.add(fields["id"])
        seen[key] = fields["id"]
        plan.events.append(fields)
    return plan


class ImportEvents:
    """The change an import makes: the rows vetted against the log, then appended in one write."""

    may_fix = False

    def __init__(self, rows: Sequence[Row], source: str, *, today: date, allow_duplicates: bool = False) -> None:
        self.rows = rows
        self.source = source
        self.today = today
        self.allow_duplicates = allow_duplicates
        self.vetted = ImportPlan()

    def wants(self, log: Log) -> Any:
        from tracker.store import Wants

        return Wants(end=True)

    def plan(self, document: Any, log: Log) -> Any:
        from tracker.edit import plan_append

        self.vetted = plan_import(log, self.rows, self.source, today=self.today, allow_duplicates=self.allow_duplicates)
        return plan_append(document, self.vetted.events)


def _vetted(raw: dict[str, Any], today: date) -> dict[str, Any]:
    fields = dict(raw)
    _join_date_parts(fields)
    if "" in fields:
        raise UsageError("not an event (expected a mapping of fields)")
    for key in ("date", "end"):
        value = fields.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise UsageError(f"{key}: expected a date, got {value!r}")
        fields[key] = DateText(str(parse_user_date(value, today)))
    if not fields.get("date"):
        raise UsageError("no date")
    title = fields.get("title")
    if not isinstance(title, str) or not title.strip():
        raise UsageError("no title (map a column to it with --map COLUMN=title)")
    if "\n" in title or "\r" in title:
        raise UsageError("the title must be one line")
    if "end" in fields:
        start, finish = parse_date(fields["date"]), parse_date(fields["end"])
        if finish.start >= start.start and finish.stop <= start.stop:
            del fields["end"]  # spreadsheets repeat the start as the end of a one-day event
        elif finish.stop <= start.stop:
            raise UsageError(f"end {finish} does not come after date {start}")
    status = fields.get("status")
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status '{status}' (use one of: {', '.join(STATUSES)})")
    for key in LIST_FIELDS:
        if isinstance(fields.get(key), str):
            fields[key] = [fields[key]]
    event_id = fields.get("id")
    if event_id is not None and (not isinstance(event_id, str) or not event_id.strip() or len(event_id.split()) > 1):
        raise UsageError(f"the id {event_id!r} must be one word without spaces")
    for key in ("actors", "tags", "related"):
        if any(not isinstance(item, str) for item in fields.get(key) or ()):
            raise UsageError(f"'{key}' must be a list of text")
    return {key: value for key, value in fields.items() if value is not None}


def _join_date_parts(fields: dict[str, Any]) -> None:
    for prefix, target in (("", "date"), ("end_", "end")):
        year = fields.pop(f"{prefix}year", None)
        month = fields.pop(f"{prefix}month", None)
        day = fields.pop(f"{prefix}day", None)
        time = fields.pop(f"{prefix}time", None)
        if year is None or str(year).strip() == "":
            continue
        try:
            text = f"{int(str(year).strip()):04d}"
            if month not in (None, ""):
                text += f"-{int(str(month).strip()):02d}"
                if day not in (None, ""):
                    text += f"-{int(str(day).strip()):02d}"
                    if time not in (None, ""):
                        text += f"T{str(time).strip()}"
        except ValueError:
            raise UsageError(f"{prefix}year, {prefix}month and {prefix}day must be numbers") from None
        fields.setdefault(target, text)
