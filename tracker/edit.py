"""Changes to a log as plans for the one write path: append, edit fields, replace or remove events."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tracker.errors import Location, LogError, TrackerError, UsageError
from tracker.model import EVENT_FIELDS
from tracker.nodes import YamlList, YamlMap, plain
from tracker.splice import (
    Splice,
    add_field,
    dash_column,
    events_list,
    indent_lines,
    insert_events,
    item_range,
    remove_field,
    remove_item,
    replace_field,
)
from tracker.store import LogFile, Plan, document_view, parse_text
from tracker.yamltext import dump_list_item


def plan_append(current: LogFile, new_events: Sequence[dict[str, Any]]) -> Plan:
    """Append `new_events` after the last event; `details` is the inserted text."""
    if not new_events:
        return Plan([], document_view(current.log.data), details="")
    splice = insert_events(current.text, current.newline, current.log.data, list(new_events), current.path)
    before = current.log.data
    if splice.start == len(current.text) and not current.text.endswith("\n"):
        # The line break that ends the file's last line ends a block scalar there with a line break too.
        before = parse_text(current.text + current.newline, current.path)[0].data
    expected = document_view(before)
    expected["events"] = expected["events"] + [plain(fields) for fields in new_events]
    return Plan([splice], expected, details=splice.text)


@dataclass
class EditResult:
    """What an edit did: the event's id before and after, and the events whose `related` followed a rename."""

    old_id: str
    new_id: str
    relinked: list[str] = field(default_factory=list)


def find_index(current: LogFile, event_id: str) -> int:
    """The position of the event `event_id` in the events list (a TrackerError when there is none)."""
    from tracker.query import match_id

    ids = [fields.get("id") if isinstance(fields, dict) else None for fields in events_list(current.log.data) or ()]
    return ids.index(match_id([known for known in ids if isinstance(known, str)], event_id))


def plan_edit_fields(current: LogFile, event_id: str, new_fields: dict[str, Any]) -> Plan:
    """Give the event `event_id` exactly `new_fields`, touching only the lines of fields that change.

    Changed fields are rewritten in place, removed ones deleted, new ones added after
    the last field; comments elsewhere in and around the event stay. A new id is
    followed by every `related:` that pointed to the old one.
    """
    index = find_index(current, event_id)
    splices = _event_splices(current, index, new_fields)
    expected = document_view(current.log.data)
    expected["events"][index] = plain(new_fields)
    result = EditResult(event_id, str(new_fields.get("id", event_id)))
    if result.new_id != event_id:
        splices += _relink(current, expected, event_id, result.new_id, skip=index, result=result)
    return Plan(splices, expected, details=result)


def plan_replace_event(current: LogFile, event_id: str, item_text: str) -> Plan:
    """Replace the event's lines with `item_text` (a `- ...` list item written at column 0)."""
    events = events_list(current.log.data)
    index = find_index(current, event_id)
    start, end = item_range(current.text, events, index)  # type: ignore[arg-type]
    column = dash_column(current.text, events.item_marks[index].index)  # type: ignore[union-attr]
    new_fields = parse_item(item_text, "(edited event)")
    replacement = indent_lines(item_text.replace("\r\n", "\n").replace("\n", current.newline), column)
    if not replacement.endswith("\n"):
        replacement += current.newline
    expected = document_view(current.log.data)
    expected["events"][index] = plain(new_fields)
    splices = [Splice(start, end, replacement)]
    result = EditResult(event_id, str(new_fields.get("id", event_id)))
    if result.new_id != event_id:
        splices += _relink(current, expected, event_id, result.new_id, skip=index, result=result)
    return Plan(splices, expected, details=result)


def parse_item(item_text: str, path: str) -> YamlMap:
    """The one event in `item_text` (`- id: ...`), read as strictly as a log."""
    log, problems = parse_text(item_text, path)
    errors = [problem for problem in problems if problem.is_error]
    if errors:
        raise LogError(errors[0].message, errors[0].location)
    data = log.data
    if not isinstance(data, YamlList) or len(data) != 1 or not isinstance(data[0], YamlMap):
        raise LogError("the text must hold exactly one event, written as a '- ' list item", Location(path))
    return data[0]


def plan_remove(current: LogFile, event_ids: Sequence[str], *, force: bool = False) -> Plan:
    """Remove the events' lines. Events that other events relate to are kept unless `force`,
    which also removes those references; `details` lists the events whose `related` changed."""
    events = events_list(current.log.data)
    indexes = [find_index(current, event_id) for event_id in dict.fromkeys(event_ids)]
    doomed = {events[index]["id"] for index in indexes}  # type: ignore[index]
    referrers = referring_events(current.log.data, doomed)
    if referrers and not force:
        refuse_related(referrers)
    text = current.text
    splices = []
    for index in indexes:
        splices.append(remove_item(text, events, index))  # type: ignore[arg-type]
    expected = document_view(current.log.data)
    expected["events"] = [event for position, event in enumerate(expected["events"]) if position not in indexes]
    for position, fields in enumerate(events or ()):
        if isinstance(fields, YamlMap) and fields.get("id") in referrers:
            kept = [related for related in _related(fields) if related not in doomed]
            new_fields = {key: value for key, value in plain(fields).items() if key != "related"}
            if kept:
                new_fields = {**plain(fields), "related": kept}
            splices += _event_splices(current, position, new_fields)
            expected_position = position - sum(1 for index in indexes if index < position)
            expected["events"][expected_position] = new_fields
    return Plan(splices, expected, details=sorted(referrers))


def referring_events(data: Any, event_ids: set[str]) -> dict[str, list[str]]:
    """Events outside `event_ids` whose `related` names some of them: id -> the ids it names."""
    found = {}
    for fields in events_list(data) or ():
        if isinstance(fields, YamlMap) and fields.get("id") not in event_ids:
            named = [related for related in _related(fields) if related in event_ids]
            if named:
                found[str(fields.get("id"))] = named
    return found


def refuse_related(referrers: dict[str, list[str]]) -> None:
    """Raise the error that keeps rm from leaving `related` ids pointing nowhere."""
    pointing = "; ".join(f"{referrer} relates to {', '.join(ids)}" for referrer, ids in referrers.items())
    raise TrackerError(f"other events relate to it: {pointing} (use --force to remove those references too)")


def unified_diff(path: str, before: str, after: str) -> str:
    """A unified diff of a change, as `git diff` shows it."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), fromfile=path, tofile=path
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _related(fields: Any) -> list[str]:
    value = fields.get("related") if isinstance(fields, dict) else None
    if isinstance(value, str):
        return [value]
    return [item for item in value or () if isinstance(item, str)]


def _event_splices(current: LogFile, index: int, new: dict[str, Any]) -> list[Splice]:
    """Splices giving event `index` the fields `new`: field by field, or the whole item
    when it is written as a flow mapping (`- {id: x, ...}`), which becomes a block item."""
    events = events_list(current.log.data)
    old = events[index]  # type: ignore[index]
    if getattr(old, "flow", False):
        start, end = item_range(current.text, events, index)  # type: ignore[arg-type]
        column = dash_column(current.text, events.item_marks[index].index)  # type: ignore[union-attr]
        return [Splice(start, end, dump_list_item(new, " " * column, current.newline))]
    return _field_splices(current.text, current.newline, old, new)


def _field_splices(text: str, newline: str, old: YamlMap, new: dict[str, Any]) -> list[Splice]:
    splices = []
    removed = [key for key in old if key not in new]
    kept_keys = [key for key in old if key in new]
    if not kept_keys:
        raise UsageError("an edit must keep at least one of the event's fields")
    for key in removed:
        splices.append(remove_field(text, old, key))
    for key in kept_keys:
        if plain(old[key]) != plain(new[key]):
            splices.append(replace_field(text, old, key, new[key], newline))
    added = {key: value for key, value in new.items() if key not in old}
    for key, value in added.items():
        splices.append(add_field(text, old, key, value, newline, after=_place_for(key, old, kept_keys)))
    return _merge_insertions(sorted(splices, key=lambda splice: splice.start))


def _place_for(key: str, old: YamlMap, kept: list[str]) -> str | None:
    """The kept field a new field goes after: the nearest one before it in the usual order."""
    if key not in EVENT_FIELDS:
        return None
    earlier = EVENT_FIELDS[: EVENT_FIELDS.index(key)]
    present = [name for name in kept if name in earlier]
    return max(present, key=EVENT_FIELDS.index) if present else None


def _merge_insertions(splices: list[Splice]) -> list[Splice]:
    """Several fields added at one point become one splice, in the order given."""
    merged: list[Splice] = []
    for splice in splices:
        previous = merged[-1] if merged else None
        if previous and previous.start == previous.end == splice.start == splice.end:
            merged[-1] = Splice(splice.start, splice.end, previous.text + splice.text)
        else:
            merged.append(splice)
    return merged


def _relink(
    current: LogFile, expected: dict[str, Any], old_id: str, new_id: str, *, skip: int, result: EditResult
) -> list[Splice]:
    events = events_list(current.log.data)
    splices = []
    for position, fields in enumerate(events or ()):
        if position == skip or not isinstance(fields, YamlMap) or old_id not in _related(fields):
            continue
        relinked = [new_id if related == old_id else related for related in _related(fields)]
        new_fields = {**plain(fields), "related": relinked}
        splices += _event_splices(current, position, new_fields)
        expected["events"][position] = new_fields
        result.relinked.append(str(fields.get("id")))
    return splices
