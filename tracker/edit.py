"""Changes to a log for the one write path (tracker.store): appending, editing, replacing and removing
events, adding registry entries. Each is a Change (what it needs to see, then its splices), so that it
runs the same on the whole file and on an excerpt read through the index."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.errors import Location, LogError, TrackerError, UsageError
from tracker.logfile import LogFile, document_view, parse_text
from tracker.model import EVENT_FIELDS, Log, raw_events
from tracker.nodes import YamlList, YamlMap, plain
from tracker.splice import (
    Splice,
    add_field,
    dash_column,
    end_of_line,
    events_list,
    indent_lines,
    insert_events,
    insert_items,
    item_range,
    item_text,
    remove_field,
    remove_items,
    replace_field,
)
from tracker.store import Plan, Wants
from tracker.yamltext import dump_list_item


class AppendEvents:
    """Append the events `make` builds from the log (its registries and ids) after the last one."""

    may_fix = False

    def __init__(self, make: Callable[[Log], Sequence[dict[str, Any]]]) -> None:
        self.make = make
        self.events: list[dict[str, Any]] = []

    def wants(self, log: Log) -> Wants:
        return Wants(end=True)

    def plan(self, document: LogFile, log: Log) -> Plan:
        self.events = list(self.make(log))
        return plan_append(document, self.events)


class EditEvent:
    """Give one event (an id or unique prefix) the fields `edit` makes of its current ones; a new id is
    followed by every `related:` that pointed at the old one."""

    may_fix = True

    def __init__(self, event_id: str, edit: Callable[[Log, dict[str, Any]], dict[str, Any]]) -> None:
        self.event_id = event_id
        self.edit = edit

    def wants(self, log: Log) -> Wants:
        from tracker.query import resolve_id

        self.event_id = resolve_id(log, self.event_id)
        event = log.event_by_id(self.event_id)
        new_id = self.edit(log, plain(event.fields)).get("id") if event is not None else self.event_id
        return Wants(event_ids=[self.event_id, *_referrers(log, [self.event_id], unless=new_id == self.event_id)])

    def plan(self, document: LogFile, log: Log) -> Plan:
        event_id = resolve_entry_id(document, self.event_id)
        fields = plain(events_list(document.log.data)[find_index(document, event_id)])  # type: ignore[index]
        return plan_edit_fields(document, event_id, self.edit(log, fields))


class ReplaceEvent:
    """Replace one event's lines with `body` (a `- ...` item written at column 0, as the editor shows it),
    unless its lines are no longer `original` (changed since they were shown)."""

    may_fix = True

    def __init__(self, event_id: str, original: str, body: str) -> None:
        self.event_id = event_id
        self.original = original
        self.body = body

    def wants(self, log: Log) -> Wants:
        new_id = parse_item(self.body, "(edited event)").get("id")
        return Wants(event_ids=[self.event_id, *_referrers(log, [self.event_id], unless=new_id == self.event_id)])

    def plan(self, document: LogFile, log: Log) -> Plan:
        if event_item_text(document, self.event_id) != self.original:
            raise ConcurrentEdit(f"{self.event_id} changed in the log while you were editing; run tracker edit again")
        return plan_replace_event(document, self.event_id, self.body)


class ConcurrentEdit(TrackerError):
    """The event changed in the log while it was being edited."""


class RemoveEvents:
    """Remove events (ids or unique prefixes); events relating to them are refused unless `force`, which
    removes those references too."""

    may_fix = True

    def __init__(self, event_ids: Sequence[str], *, force: bool = False) -> None:
        self.event_ids = list(event_ids)
        self.force = force

    def wants(self, log: Log) -> Wants:
        from tracker.query import resolve_id

        self.event_ids = list(dict.fromkeys(resolve_id(log, event_id) for event_id in self.event_ids))
        referrers = _referrers(log, self.event_ids)
        if referrers and not self.force:
            named = {
                other.id: [event_id for event_id in self.event_ids if event_id in other.related]
                for other in (log.event_by_id(referrer) for referrer in referrers)
                if other is not None
            }
            refuse_related(named)
        return Wants(event_ids=[*self.event_ids, *referrers])

    def plan(self, document: LogFile, log: Log) -> Plan:
        event_ids = list(dict.fromkeys(resolve_entry_id(document, event_id) for event_id in self.event_ids))
        return plan_remove(document, event_ids, force=self.force)


class AddRegistryEntry:
    """Add an entry to a registry list of the log (`actors` or `sources`), after its last entry."""

    may_fix = False

    def __init__(self, key: str, entry: dict[str, Any]) -> None:
        self.key = key
        self.entry = entry

    def wants(self, log: Log) -> Wants:
        return Wants(head=True)

    def plan(self, document: LogFile, log: Log) -> Plan:
        return plan_registry_entry(document, self.key, self.entry)


class SetHeadValue:
    """Give a top-level key of the log (its `title`, say) a new value."""

    may_fix = False

    def __init__(self, key: str, value: Any) -> None:
        self.key = key
        self.value = value

    def wants(self, log: Log) -> Wants:
        return Wants(head=True)

    def plan(self, document: LogFile, log: Log) -> Plan:
        return plan_head_value(document, self.key, self.value)


def _referrers(log: Log, event_ids: Sequence[str], *, unless: bool = False) -> list[str]:
    """The ids of the events outside `event_ids` whose `related` names one of them."""
    if unless:
        return []
    found = {other.id for event_id in event_ids for other in log.events_relating_to(event_id)}
    return sorted(found - set(event_ids))


def resolve_entry_id(document: LogFile, wanted: str) -> str:
    """The id `wanted` names among every entry of the document's events list (usable or not, so that a
    broken event can be fixed): itself, else the only id it is a prefix of."""
    from tracker.query import match_id

    entries = [fields for fields in raw_events(document.log.data) if isinstance(fields, dict)]
    return match_id([fields["id"] for fields in entries if isinstance(fields.get("id"), str)], wanted)


def event_text(path: Path, wanted: str, *, index_folder: Path | None = None, progress: Any = None) -> tuple[str, str]:
    """The id of the event `wanted` names (an id or unique prefix) and its own lines, as the editor shows
    them; read through the index where it can be."""
    from tracker.query import resolve_id
    from tracker.store import read_document

    resolved: list[str] = []

    def want(log: Log) -> Wants:
        resolved.append(resolve_id(log, wanted))
        return Wants(event_ids=resolved[-1:])

    document, _ = read_document(path, want, index_folder=index_folder, progress=progress)
    event_id = resolve_entry_id(document, resolved[-1] if resolved else wanted)
    return event_id, event_item_text(document, event_id)


def event_item_text(document: LogFile, event_id: str) -> str:
    """The event's own lines, shifted left so that its `-` is at column 0 (what the editor shows)."""
    return item_text(document.text, events_list(document.log.data), find_index(document, event_id))  # type: ignore[arg-type]


def plan_append(current: LogFile, new_events: Sequence[dict[str, Any]]) -> Plan:
    """Append `new_events` after the last event; `details` is the inserted text."""
    count = len(events_list(current.log.data) or ())
    if not new_events:
        return Plan([], document_view(current.log.data), list(range(count)), details="")
    splice = insert_events(current.text, current.newline, current.log.data, list(new_events), current.path)
    before = current.log.data
    if splice.start == len(current.text) and not current.text.endswith("\n"):
        # The line break that ends the file's last line ends a block scalar there with a line break too.
        before = parse_text(current.text + current.newline, current.path)[0].data
    expected = document_view(before)
    expected["events"] = expected["events"] + [plain(fields) for fields in new_events]
    return Plan([splice], expected, [*range(count), *[None] * len(new_events)], details=splice.text)


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
    return Plan(splices, expected, list(range(len(expected["events"]))), details=result)


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
    return Plan(splices, expected, list(range(len(expected["events"]))), details=result)


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
    splices = remove_items(current.text, events, indexes)  # type: ignore[arg-type]
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
    kept = [position for position in range(len(events or ())) if position not in indexes]
    return Plan(splices, expected, kept, details=sorted(referrers))


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
        start, _ = item_range(current.text, events, index)  # type: ignore[arg-type]
        end = end_of_line(current.text, old.end.index)  # the comment lines after the mapping stay
        column = dash_column(current.text, events.item_marks[index].index)  # type: ignore[union-attr]
        replacement = dump_list_item(new, " " * column, current.newline)
        rest = current.text[old.end.index : end].rstrip("\r\n")
        if rest.strip().startswith("#"):  # a comment after the mapping stays on its (now last) line
            replacement = replacement[: -len(current.newline)] + rest + current.newline
        return [Splice(start, end, replacement)]
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


def plan_registry_entry(current: LogFile, key: str, entry: dict[str, Any]) -> Plan:
    """Add `entry` to the registry list `key` (`actors`, `sources`) after its last entry, in the style the
    list is written in; a log without that list gets one, before its `events:`."""
    data = current.log.data
    if not isinstance(data, YamlMap):
        raise LogError(
            f"this log is a bare list of events, which has no '{key}' registry; "
            "write it as a mapping with 'events:' to keep one",
            Location(current.path, 1, 1),
        )
    splice = insert_items(current.text, current.newline, data, key, [entry], current.path, before="events")
    expected = document_view(data)
    expected[key] = [*(expected.get(key) or []), plain(entry)]
    return Plan([splice], expected, list(range(len(expected["events"]))))


def plan_head_value(current: LogFile, key: str, value: Any) -> Plan:
    """Give the top-level `key` the value `value` (a new key goes first, where a log's title usually is)."""
    from tracker.splice import line_start
    from tracker.yamltext import dump_fields

    data = current.log.data
    if not isinstance(data, YamlMap):
        raise LogError(
            f"this log is a bare list of events, which has no '{key}'; write it as a mapping with 'events:'",
            Location(current.path, 1, 1),
        )
    if key in data:
        splice = replace_field(current.text, data, key, value, current.newline)
    elif data:
        mark = data.key_marks[next(iter(data))]  # a new key goes first, where a log's title usually is
        start = line_start(current.text, mark.index)
        splice = Splice(start, start, " " * mark.column + dump_fields({key: value}, " " * mark.column, current.newline))
    else:
        splice = insert_items(current.text, current.newline, data, key, [], current.path)
    expected = document_view(data)
    expected[key] = plain(value)
    return Plan([splice], expected, list(range(len(expected["events"]))))
