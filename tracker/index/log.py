"""A Log answered from the index: the registries at once, events only as queries ask for them."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from tracker.dates import PartialDate
from tracker.errors import TrackerError
from tracker.index.database import DAY_US, ROW_BITS, Index, IndexBroken, event_from, instant
from tracker.model import Event, Log, build_log

Window = tuple[int | None, int | None]
# The largest code point: every id starting with a prefix sorts below prefix + this.
_LAST_CHARACTER = "\U0010ffff"


def indexed_log(index: Index, display: str | None = None) -> IndexedLog:
    """The log as `index` holds it (named `display`, else by its real path)."""
    head = index.meta["head"]
    registries, _ = build_log(head_data(head, index.meta["shape"]), display or str(index.log_path))
    return IndexedLog(index, registries)


def head_data(head: Any, shape: str) -> Any:
    """The document the index's head facts describe, events left empty, in the reader's shapes."""
    if shape == "list":
        return with_marks({"events": []})["events"]
    if shape == "map":
        return with_marks({**head, "events": []})
    return None


def with_marks(value: Any) -> Any:
    """Plain values as the reader's shapes (positions all at the start), for build_log."""
    from tracker.nodes import Mark, YamlList, YamlMap

    if isinstance(value, dict):
        mapping = YamlMap((key, with_marks(inner)) for key, inner in value.items())
        mapping.key_marks = mapping.value_marks = {}
        mapping.value_ends = {}
        mapping.start = mapping.end = Mark((0, 0, 0))
        mapping.flow = False
        return mapping
    if isinstance(value, list):
        items = YamlList(with_marks(inner) for inner in value)
        items.item_marks = [Mark((0, 0, 0))] * len(items)
        items.start = items.end = Mark((0, 0, 0))
        items.flow = False
        return items
    return value


def _or_from_file(method: Callable[..., Any]) -> Callable[..., Any]:
    """The method, answered from the log's file instead when the index turns out to be damaged."""

    @functools.wraps(method)
    def answer(self: IndexedLog, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except IndexBroken:
            return getattr(self._from_file(), method.__name__)(*args, **kwargs)

    return answer


class IndexedLog(Log):
    """A Log whose events stay in the index until asked for: queries narrow them with SQL."""

    def __init__(self, index: Index, registries: Log) -> None:
        self.index = index
        self._events: list[Event] | None = None
        self._file_log: Log | None = None
        super().__init__(
            path=registries.path,
            actors=registries.actors,
            sources=registries.sources,
            data=registries.data,
            heading=index.meta["heading"],
        )

    @property  # type: ignore[override]
    def events(self) -> list[Event]:
        if self._events is None:
            try:
                self._events = self.index.events()
            except IndexBroken:
                self._events = self._from_file().events
        return self._events

    @events.setter
    def events(self, value: list[Event]) -> None:
        self._events = value or None

    def _from_file(self) -> Log:
        """The log read from its file, for when the index turns out to be damaged midway."""
        if self._file_log is None:
            from tracker.logfile import load_file_log

            self._file_log = load_file_log(Path(self.path))
        return self._file_log

    @_or_from_file
    def event_by_id(self, event_id: str) -> Event | None:
        found = self.index.events("id = ?", (event_id,), " ORDER BY seq LIMIT 1")
        return found[0] if found else None

    @_or_from_file
    def has_event_id(self, event_id: str) -> bool:
        return bool(self.index.rows("SELECT 1 FROM events WHERE id = ? LIMIT 1", (event_id,)))

    @_or_from_file
    def ids_starting_with(self, prefix: str, limit: int | None = None) -> list[str]:
        rows = self.index.rows(
            "SELECT id FROM events WHERE id >= ? AND id < ? ORDER BY seq LIMIT ?",
            (prefix, prefix + _LAST_CHARACTER, -1 if limit is None else limit),
        )
        return [row[0] for row in rows]

    @_or_from_file
    def events_dated(self, when: PartialDate) -> list[Event]:
        found = self.index.events("start = ? AND rank = ?", (instant(when.start), when.precision_rank))
        return [event for event in found if event.date == when]

    @_or_from_file
    def events_relating_to(self, event_id: str) -> list[Event]:
        found = self.index.events("seq IN (SELECT seq FROM event_related WHERE target = ?)", (event_id,))
        return [event for event in found if event_id in event.related]

    @_or_from_file
    def event_ids(self) -> list[str]:
        return [row[0] for row in self.index.rows("SELECT id FROM events ORDER BY seq")]

    def _vocabulary(self, kind: str) -> list[str]:
        query = "SELECT name FROM vocabulary WHERE kind = ? ORDER BY first_seq, first_pos"
        return [row[0] for row in self.index.rows(query, (kind,))]

    @_or_from_file
    def used_actor_names(self) -> list[str]:
        return self._vocabulary("actor")

    @_or_from_file
    def used_tags(self) -> list[str]:
        return self._vocabulary("tag")

    @_or_from_file
    def used_types(self) -> list[str]:
        return self._vocabulary("type")

    @_or_from_file
    def used_fields(self) -> list[str]:
        return self._vocabulary("field")

    def _overlap(self, conditions: list[str], parameters: list[Any], windows: list[Window], *, narrow: bool) -> None:
        """Keep events overlapping one of `windows` ([start, stop) instants, None for open ends).

        With `narrow`, also say so in a form the (span, start) index answers: an event of
        span class k starts at most 2^k days before the window does.
        """
        if not windows:
            return
        exact = []
        for start, stop in windows:
            terms = []  # `+` keeps SQLite from scanning an index by these: the ranges below are narrower
            if start is not None:
                terms.append("+stop > ?")
                parameters.append(start)
            if stop is not None:
                terms.append("+start < ?")
                parameters.append(stop)
            exact.append("(" + " AND ".join(terms or ["1"]) + ")")
        conditions.append("(" + " OR ".join(exact) + ")")
        if not narrow:
            return
        if any(start is None for start, _ in windows):
            stops = [stop for _, stop in windows]
            if None not in stops:
                conditions.append("start < ?")
                parameters.append(max(stops))  # type: ignore[type-var]
            return
        ranges = []
        for start, stop in windows:
            for span in self.index.meta["spans"]:
                bounded = " AND start < ?" if stop is not None else ""
                ranges.append(f"SELECT seq FROM events WHERE span = ? AND start > ?{bounded}")
                parameters += [span, start - (DAY_US << span)] + ([stop] if stop is not None else [])
        conditions.append("seq IN (" + (" UNION ALL ".join(ranges) or "SELECT NULL WHERE 0") + ")")

    def _where(
        self,
        *,
        since: PartialDate | None = None,
        until: PartialDate | None = None,
        on: Sequence[PartialDate] = (),
        actor_keys: Sequence[str] = (),
        tag_keys: Sequence[str] = (),
        type_keys: Sequence[str] = (),
        search: Sequence[str] = (),
        match_all: bool = False,
        newest: int | None = None,
    ) -> tuple[str, list[Any]]:
        """An SQL condition on `events` that holds exactly for the events these filters select (see
        Log.candidates), and its parameters."""
        conditions: list[str] = []
        parameters: list[Any] = []
        windows = [(instant(period.start), instant(period.stop)) for period in on]
        if since is not None or until is not None:
            window = (
                instant(since.start) if since is not None else None,
                instant(until.stop) if until is not None else None,
            )
            if not windows:
                windows = [window]
            self._overlap(conditions, parameters, [window], narrow=False)
        self._overlap(conditions, parameters, windows, narrow=True)
        for table, keys in (("event_actors", actor_keys), ("event_tags", tag_keys)):
            if not keys:
                continue
            groups = [[key] for key in keys] if match_all else [list(keys)]
            for group in groups:
                marks = ", ".join("?" for _ in group)
                conditions.append(f"seq IN (SELECT seq FROM {table} WHERE key IN ({marks}))")
                parameters += group
        if type_keys:
            conditions.append(f"type_key IN ({', '.join('?' for _ in type_keys)})")
            parameters += list(type_keys)
        if search:
            matching = []
            for needle in search:
                if self.index.meta["fts"] and len(needle) >= 3 and "\x00" not in needle:
                    # The rows holding every trigram of the needle, then those holding the needle itself.
                    trigrams = dict.fromkeys(needle[start : start + 3] for start in range(len(needle) - 2))
                    matching.append(
                        "SELECT seq FROM search WHERE seq IN (SELECT rowid FROM fts WHERE fts MATCH ?)"
                        " AND instr(body, ?) > 0"
                    )
                    parameters += [" AND ".join('"' + trigram.replace('"', '""') + '"' for trigram in trigrams), needle]
                else:
                    matching.append("SELECT seq FROM search WHERE instr(body, ?) > 0")
                    parameters.append(needle)
            conditions.append(f"seq IN ({' UNION '.join(matching)})")
        if newest is not None:
            where = " AND ".join(conditions) or "1"
            conditions = [f"seq IN (SELECT seq FROM events WHERE {where} ORDER BY {_NEWEST_FIRST} LIMIT ?)"]
            parameters.append(min(newest, _MOST_ROWS))
        return " AND ".join(conditions) or "1", parameters

    @_or_from_file
    def candidates(self, **terms: Any) -> list[Event]:
        where, parameters = self._where(**terms)
        return self.index.events(where, parameters)

    def ordered(self, *, descending: bool = False, **terms: Any) -> Iterator[Event]:
        rows = self._rows_in_order(descending, terms, event_from)
        return rows if rows is not None else Log.ordered(self._from_file(), descending=descending, **terms)

    def ordered_records(self, *, descending: bool = False, **terms: Any) -> Iterator[dict[str, Any]] | None:
        return self._rows_in_order(descending, terms, _stored_record)

    def _rows_in_order(
        self, descending: bool, terms: dict[str, Any], made: Callable[[int, str], Any]
    ) -> Iterator[Any] | None:
        """What `made` makes of each selected row, in sort_key order, read a batch at a time. None when the
        index turns out damaged at once (it is removed; the caller reads the file); found damaged later, the
        iterator stops the command with one line."""
        where, parameters = self._where(**terms)
        order = _NEWEST_FIRST if descending else "start, rank, id, seq"
        try:
            cursor = self.index.connection.execute(
                f"SELECT seq, fields FROM events WHERE {where} ORDER BY {order}", parameters
            )
            first = [made(seq, fields) for seq, fields in cursor.fetchmany(_BATCH)]
        except (sqlite3.Error, ValueError, KeyError, TypeError, TrackerError):
            self.index.discard()
            return None
        return self._rest(cursor, first, made)

    def _rest(self, cursor: sqlite3.Cursor, batch: list[Any], made: Callable[[int, str], Any]) -> Iterator[Any]:
        from tracker.errors import LogError

        while batch:
            yield from batch
            try:
                batch = [made(seq, fields) for seq, fields in cursor.fetchmany(_BATCH)]
            except (sqlite3.Error, ValueError, KeyError, TypeError, TrackerError):
                self.index.discard()
                raise LogError("the index turned out to be damaged while it was read; run the command again") from None

    @_or_from_file
    def counts(self, by: str, **terms: Any) -> dict[str, int] | None:
        where, parameters = self._where(**terms)
        if by in ("year", "month"):
            counted: dict[str, int] = {}
            rows = self.index.rows(
                f"SELECT start, rank, count(*) FROM events WHERE {where} GROUP BY start, rank", parameters
            )
            for start, rank, count in rows:
                day = date.fromordinal(start // DAY_US)
                if by == "year":
                    key = f"{day.year:04d}"
                else:
                    key = f"{day.year:04d} (no month)" if rank == 0 else f"{day.year:04d}-{day.month:02d}"
                counted[key] = counted.get(key, 0) + count
            return counted
        if by == "type":
            rows = self.index.rows(
                f"SELECT type_name, count(*) FROM events WHERE {where} GROUP BY type_name", parameters
            )
            return {name or "(no type)": count for name, count in rows}
        table, none = {"actor": ("event_actors", "(no actor)"), "tag": ("event_tags", "(no tag)")}[by]
        # An event has one row per actor (by registry name) and per tag: its rows are a range of the key.
        rows_of = f"{table}.row >= events.seq << {ROW_BITS} AND {table}.row < (events.seq + 1) << {ROW_BITS}"
        if where == "1":
            counted = dict(self.index.rows(f"SELECT name, count(*) FROM {table} GROUP BY name"))
        else:
            selected = f"SELECT seq FROM events WHERE {where}"
            within = f"{table}.row >= events.seq << {ROW_BITS} AND {table}.row < (events.seq + 1) << {ROW_BITS}"
            query = f"SELECT name, count(*) FROM ({selected}) AS events JOIN {table} ON {within} GROUP BY name"
            counted = dict(self.index.rows(query, parameters))
        (without,) = self.index.rows(
            f"SELECT count(*) FROM events WHERE {where} AND NOT EXISTS (SELECT 1 FROM {table} WHERE {rows_of})",
            parameters,
        )[0]
        if without:
            counted[none] = counted.get(none, 0) + without
        return counted

    @_or_from_file
    def fields_among(self, **terms: Any) -> list[str]:
        where, parameters = self._where(**terms)
        if where == "1":
            return self.used_fields()  # every event: the vocabulary says
        rows = self.index.rows(
            f"SELECT DISTINCT field.key FROM events, json_each(events.fields) AS field WHERE {where}", parameters
        )
        present = {key for (key,) in rows}
        return [name for name in self.used_fields() if name in present]

    @_or_from_file
    def actor_spans(self) -> dict[str, tuple[int, Event, Event]]:
        spans: dict[str, tuple[int, Event, Event]] = {}
        rows = self.index.rows(
            "SELECT name, count(*), min(start * 8 + rank), max(start * 8 + rank) FROM event_actors GROUP BY name"
        )
        for name, count, first, last in rows:
            ends = [
                self.index.events(
                    "seq IN (SELECT seq FROM event_actors WHERE name = ? AND start = ? AND rank = ?)",
                    (name, moment >> 3, moment & 7),
                    f" ORDER BY {order} LIMIT 1",
                )[0]
                for moment, order in ((first, "id, seq"), (last, "id DESC, seq DESC"))
            ]
            spans[name] = (count, ends[0], ends[1])
        return spans


class StoredRecord(dict):  # type: ignore[type-arg]
    """An event's fields as plain data, with the JSON text the index keeps them as (`json`, what
    json.dumps(fields, ensure_ascii=False) writes), for formats that can pass it on."""

    __slots__ = ("json",)


_decode = json.JSONDecoder().decode


def _stored_record(seq: int, fields_json: str) -> StoredRecord:
    record = StoredRecord(_decode(fields_json))
    record.json = fields_json
    return record


_BATCH = 500
_NEWEST_FIRST = "start DESC, rank DESC, id DESC, seq DESC"
_MOST_ROWS = (1 << 63) - 1  # SQLite's integers; a larger --limit selects every event all the same
