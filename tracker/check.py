"""The validation rules of `tracker check`: they return problems and print nothing."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from tracker.dates import parse_date
from tracker.errors import DateError, Location, Problem
from tracker.model import (
    ACTOR_FIELDS,
    EVENT_FIELDS,
    INLINE_SOURCE_FIELDS,
    SOURCE_FIELDS,
    STATUSES,
    Event,
    Log,
    attributed,
    event_location,
    normalise_name,
    raw_events,
    text_list,
)
from tracker.nodes import YamlMap

TOP_LEVEL_KEYS = ("title", "actors", "sources", "events")


def check_log(
    log: Log,
    read_problems: list[Problem],
    *,
    registries: Log | None = None,
    known_id: Callable[[str], bool] | None = None,
) -> list[Problem]:
    """Every problem in the log, errors and warnings, ordered by position in the file.

    `read_problems` are those found while reading (duplicate keys, unusable dates or
    titles); the rules here add consistency between events and the registries. With
    `registries`, `log` is an excerpt of a larger log: its events are checked against
    those registries and `known_id` (the ids of the events outside the excerpt), and
    the registries themselves, checked elsewhere, are not.
    """
    checker = EventChecker(registries or log, known_id=known_id)
    usable = {id(event.fields): event for event in log.events}
    for fields in raw_events(log.data):
        checker.add(fields, usable.get(id(fields)))
    registry_problems = _registry_problems(log) if registries is None else []
    problems = list(read_problems) + registry_problems + checker.finish() + _unknown_top_level_keys(log)
    return sorted(problems, key=by_position)


def _registry_problems(log: Log) -> list[Problem]:
    problems = []
    owner_of_name: dict[str, str] = {}
    for actor in log.actors:
        where = _where(log.path, actor.fields, "name", value=True)
        for name in (actor.name, *actor.aliases):
            key = normalise_name(name)
            owner = owner_of_name.get(key)
            if owner is not None and owner != actor.name:
                problems.append(Problem(where, f"actor name or alias '{name}' already belongs to '{owner}'"))
            elif owner is None:
                owner_of_name[key] = actor.name
        problems += _unknown_fields(log.path, actor.fields, ACTOR_FIELDS, "actor")
    seen_sources: dict[str, Location] = {}
    for source in log.sources:
        where = _where(log.path, source.fields, "id", value=True)
        if source.id in seen_sources:
            problems.append(
                Problem(where, f"duplicate source id '{source.id}' (first at line {seen_sources[source.id].line})")
            )
        else:
            seen_sources[source.id] = where
        problems += _unknown_fields(log.path, source.fields, SOURCE_FIELDS, "source")
        problems += _registry_date_problems(log.path, source.fields)
    return problems


def _registry_date_problems(path: str, fields: Any) -> list[Problem]:
    value = fields.get("date") if isinstance(fields, YamlMap) else None
    if value is None:
        return []
    try:
        parse_date(value)
    except DateError as error:
        return [Problem(event_location(path, fields, "date", value=True), str(error))]
    return []


def by_position(problem: Problem) -> tuple[int, int]:
    """Where a problem stands, for ordering problems as the file reads."""
    return (problem.location.line or 0, problem.location.column or 0)


class EventChecker:
    """The rules on events, fed one event at a time (so that a large log need not be held whole).

    `add` each entry of the events list in file order, with its Event when it is usable;
    `finish` returns the problems, including those that need every id (duplicates, related).
    `known_id` answers for ids of events that are in the log but not added here
    (to check a new event against an index of the others).
    """

    def __init__(self, log: Log, known_id: Callable[[str], bool] | None = None) -> None:
        self.log = log
        self.known_id = known_id
        self.problems: list[Problem] = []
        self.first_line: dict[str, int] = {}
        self.ids: set[str] = set()
        self.references: list[tuple[YamlMap, str]] = []
        self.source_ids = {source.id for source in log.sources}
        self.has_actor_registry = isinstance(log.data, dict) and "actors" in log.data

    def add(self, fields: Any, event: Event | None = None) -> None:
        """Check one entry of the events list (its own rules now, its references at finish)."""
        if not isinstance(fields, YamlMap):
            return
        path = self.log.path
        event_id = fields.get("id")
        if isinstance(event_id, str):
            self.ids.add(event_id)
        if not isinstance(event_id, str) or not event_id:
            self.problems.append(Problem(event_location(path, fields), "event has no id"))
        elif event_id in self.first_line:
            where = event_location(path, fields, "id", value=True)
            message = f"duplicate id '{event_id}' (first at line {self.first_line[event_id]})"
            self.problems.append(Problem(where, message))
        elif self.known_id is not None and self.known_id(event_id):
            where = event_location(path, fields, "id", value=True)
            self.problems.append(Problem(where, f"duplicate id '{event_id}' (already in the log)"))
        else:
            self.first_line[event_id] = event_location(path, fields, "id", value=True).line or 0
        status = fields.get("status")
        if isinstance(status, str) and status not in STATUSES:
            self.problems.append(
                Problem(
                    event_location(path, fields, "status", value=True),
                    f"unknown status '{status}' (use one of: {', '.join(STATUSES)})",
                )
            )
        for related_id in text_list(fields.get("related")):
            if related_id == event_id:
                where = event_location(path, fields, "related", value=True)
                self.problems.append(Problem(where, "an event cannot relate to itself"))
            else:
                self.references.append((fields, related_id))
        self.problems += _source_problems(self.log, fields, self.source_ids)
        if self.has_actor_registry:
            self.problems += _unknown_actors(self.log, fields)
        self.problems += _unknown_fields(path, fields, EVENT_FIELDS, "event")
        if event is not None and event.end is not None and event.end.stop <= event.date.stop:
            self.problems.append(
                Problem(
                    event_location(path, event.fields, "end", value=True),
                    f"end {event.end} does not come after date {event.date}",
                )
            )

    def finish(self) -> list[Problem]:
        """The problems of every event added, `related` ids resolved against all of them."""
        event_ids = self.ids
        for fields, related_id in self.references:
            if related_id not in event_ids and not (self.known_id is not None and self.known_id(related_id)):
                self.problems.append(
                    Problem(
                        event_location(self.log.path, fields, "related", value=True),
                        f"related id '{related_id}' is not an event{_did_you_mean(related_id, event_ids)}",
                    )
                )
        self.references = []
        return self.problems


def _unknown_actors(log: Log, fields: YamlMap) -> list[Problem]:
    quoted = attributed(fields.get("quotes")) + attributed(fields.get("claims"))
    named = [*text_list(fields.get("actors")), *(item["by"] for item in quoted if item["by"])]
    return [
        Problem(
            event_location(log.path, fields, "actors", value=True),
            f"actor '{name}' is not in the actors registry",
            "warning",
        )
        for name in dict.fromkeys(named)
        if not log.is_known_actor(name)
    ]


def _source_problems(log: Log, fields: Any, source_ids: set[str]) -> list[Problem]:
    problems = []
    entries = fields.get("sources")
    for entry in entries if isinstance(entries, list) else [entries] if entries else []:
        if isinstance(entry, dict):
            problems += _unknown_fields(log.path, entry, INLINE_SOURCE_FIELDS, "inline source")
        elif isinstance(entry, str) and "://" not in entry and entry not in source_ids:
            problems.append(
                Problem(
                    event_location(log.path, fields, "sources", value=True),
                    f"source id '{entry}' is not in the sources registry{_did_you_mean(entry, source_ids)}",
                )
            )
    return problems


def _unknown_fields(path: str, fields: Any, known: tuple[str, ...], what: str) -> list[Problem]:
    if not isinstance(fields, YamlMap):
        return []
    return [
        Problem(
            event_location(path, fields, key),
            f"unknown {what} field '{key}'{_did_you_mean(key, known)}",
            "warning",
        )
        for key in fields
        if key not in known
    ]


def _unknown_top_level_keys(log: Log) -> list[Problem]:
    if not isinstance(log.data, YamlMap):
        return []
    return [
        Problem(
            Location(log.path, log.data.key_marks[key].line + 1, log.data.key_marks[key].column + 1),
            f"unknown top-level key '{key}'{_did_you_mean(key, TOP_LEVEL_KEYS)}",
            "warning",
        )
        for key in log.data
        if key not in TOP_LEVEL_KEYS and difflib.get_close_matches(key, TOP_LEVEL_KEYS, n=1, cutoff=0.75)
    ]


def _did_you_mean(value: str, candidates: Any) -> str:
    matches = difflib.get_close_matches(value, list(candidates), n=3, cutoff=0.6)
    if not matches:
        return ""
    return " (did you mean " + ", ".join(f"'{match}'" for match in matches) + "?)"


def _where(path: str, fields: Any, key: str, *, value: bool = False) -> Location:
    if isinstance(fields, YamlMap):
        return event_location(path, fields, key, value=value)
    return Location(path)
