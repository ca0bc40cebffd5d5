"""Filters and ordering over a Log's events: pure functions, no I/O."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from tracker.dates import PartialDate, date_label
from tracker.errors import TrackerError
from tracker.model import EVENT_FIELDS, Event, Log, normalise_name
from tracker.nodes import plain


@dataclass
class Selection:
    """The events a query selected, in display order, and warnings about its terms."""

    events: list[Event]
    warnings: list[str] = field(default_factory=list)


def select_events(
    log: Log,
    *,
    since: PartialDate | None = None,
    until: PartialDate | None = None,
    on: Sequence[PartialDate] = (),
    actors: Sequence[str] = (),
    tags: Sequence[str] = (),
    types: Sequence[str] = (),
    search: Sequence[str] = (),
    match_all: bool = False,
    limit: int | None = None,
    reverse: bool = False,
) -> Selection:
    """The events matching every filter given, oldest first (newest first with `reverse`).

    Dates are periods: `since` keeps events whose period reaches its start, `until`
    those that begin before its period ends, `on` those overlapping it. Repeated
    values of one filter match any of them (all of them for actors and tags with
    `match_all`). Actors match by name or alias ignoring case, accents, hyphens and
    spacing. `limit` keeps the most recent N of the matches.
    """
    selection = stream_events(
        log, since=since, until=until, on=on, actors=actors, tags=tags, types=types, search=search,
        match_all=match_all, limit=limit, reverse=reverse,
    )  # fmt: skip
    return Selection(list(selection.events), selection.warnings)


def stream_events(log: Log, *, limit: int | None = None, reverse: bool = False, **filters: Any) -> Stream:
    """select_events, with the events yielded as they are read (a log answered from its index never holds
    them all): for exports of every event, in memory that does not grow with the log."""
    terms, warnings = _terms(log, limit=limit, **filters)
    matching = (
        event for event in log.ordered(descending=reverse and limit is None, **terms) if _matches(event, log, **filters)
    )
    if limit is None:
        return Stream(matching, warnings)
    kept = list(matching)
    kept = kept[-limit:] if limit > 0 else []
    return Stream(iter(kept[::-1] if reverse else kept), warnings)


def stream_records(log: Log, *, limit: int | None = None, reverse: bool = False, **filters: Any) -> Stream:
    """The fields of the events stream_events gives, as plain data, read as they are used (from an index,
    without building the events: it selects exactly what the filters say)."""
    if limit is None:
        terms, warnings = _terms(log, **filters)
        records = log.ordered_records(descending=reverse, **terms)
        if records is not None:
            return Stream(records, warnings)
    selection = stream_events(log, limit=limit, reverse=reverse, **filters)
    return Stream((plain(event.fields) for event in selection.events), selection.warnings)


def count_selected(log: Log, by: str, **options: Any) -> tuple[list[tuple[str, int]], list[str]]:
    """count_events of the events select_events would give, counted by the log itself where it can
    (an index counts in SQL); and the filters' warnings."""
    if by not in STATS_KEYS:
        raise ValueError(f"cannot count by {by!r}; use one of {', '.join(STATS_KEYS)}")
    terms, warnings = _terms(log, **options)
    counted = log.counts(by, **terms)
    if counted is None:
        selection = select_events(log, **options)
        return count_events(selection.events, log, by), selection.warnings
    return _count_order(counted, by), warnings


def selected_fields(log: Log, **options: Any) -> list[str]:
    """The fields the events select_events would give use: the usual event fields in their order, then
    the others in the order the log first uses them (the columns of a table of every field)."""
    terms, _ = _terms(log, **options)
    present = log.fields_among(**terms)
    if present is None:
        used = set()
        for event in select_events(log, **options).events:
            used.update(event.fields)
        present = [name for name in log.used_fields() if name in used]
    return [name for name in EVENT_FIELDS if name in present] + [name for name in present if name not in EVENT_FIELDS]


@dataclass
class Stream:
    """The events a query selected, in display order, as an iterator, and warnings about its terms."""

    events: Iterator[Any]
    warnings: list[str] = field(default_factory=list)


def _terms(
    log: Log,
    *,
    since: PartialDate | None = None,
    until: PartialDate | None = None,
    on: Sequence[PartialDate] = (),
    actors: Sequence[str] = (),
    tags: Sequence[str] = (),
    types: Sequence[str] = (),
    search: Sequence[str] = (),
    match_all: bool = False,
    limit: int | None = None,
    reverse: bool = False,
) -> tuple[dict[str, Any], list[str]]:
    """The filters as the log's candidates take them (keys normalised, texts casefolded), and warnings
    about terms the log does not know."""
    warnings = _unknown_terms(log, actors, tags, types)
    if since is not None and until is not None and until.stop <= since.start:
        warnings.append(f"--until {until} ends before --since {since} begins: nothing can match")
    terms = {
        "since": since,
        "until": until,
        "on": on,
        "actor_keys": [normalise_name(log.canonical_actor(name)) for name in actors],
        "tag_keys": [normalise_name(tag) for tag in tags],
        "type_keys": sorted({normalise_name(kind) for kind in types}),
        "search": [" ".join(text.casefold().split()) for text in search],
        "match_all": match_all,
        "newest": limit,
    }
    return terms, warnings


def _matches(
    event: Event,
    log: Log,
    *,
    since: PartialDate | None = None,
    until: PartialDate | None = None,
    on: Sequence[PartialDate] = (),
    actors: Sequence[str] = (),
    tags: Sequence[str] = (),
    types: Sequence[str] = (),
    search: Sequence[str] = (),
    match_all: bool = False,
) -> bool:
    """Whether `event` passes every filter (the rules the candidates of an index follow in SQL)."""
    if since is not None and event.stop <= since.start:
        return False
    if until is not None and event.start >= until.stop:
        return False
    if on and not any(event.overlaps(period.start, period.stop) for period in on):
        return False
    combine = all if match_all else any
    if actors:
        event_actors = {normalise_name(log.canonical_actor(name)) for name in event.actors}
        if not combine(normalise_name(log.canonical_actor(name)) in event_actors for name in actors):
            return False
    if tags:
        event_tags = {normalise_name(tag) for tag in event.tags}
        if not combine(normalise_name(tag) in event_tags for tag in tags):
            return False
    if types and normalise_name(event.type) not in {normalise_name(kind) for kind in types}:
        return False
    if search:
        haystack = searchable_text(event)
        if not any(" ".join(text.casefold().split()) in haystack for text in search):
            return False
    return True


def searchable_text(event: Event) -> str:
    """Title, summary, location, quotes and claims (with who said them), casefolded with spacing collapsed."""
    parts = [event.title, event.summary, event.location]
    for item in event.quotes + event.claims:
        parts += [item["by"], item["text"]]
    # NUL, which YAML's "\0" can put in a value, as U+FFFF (a log cannot hold it): SQLite's full-text
    # index stops reading a text at NUL.
    return " ".join(" ".join(parts).casefold().split()).replace("\x00", "\uffff")


def suggest(value: str, known: Sequence[str], count: int = 3) -> list[str]:
    """Up to `count` of `known` that look like `value`: those containing it first, then the closest."""
    by_key: dict[str, str] = {}
    for name in known:
        by_key.setdefault(normalise_name(name), name)
    wanted = normalise_name(value)
    containing = [key for key in by_key if wanted and wanted in key]
    close = difflib.get_close_matches(wanted, list(by_key), n=count, cutoff=0.5)
    keys = list(dict.fromkeys(containing + close))[:count]
    return [by_key[key] for key in keys]


def match_id(ids: Sequence[str], wanted: str) -> str:
    """The id `wanted` names: itself, else the only id starting with it (as git resolves hashes).

    Raises TrackerError naming the candidates when the prefix is ambiguous, or the closest ids.
    """
    if wanted in ids:
        return wanted
    starting = [known for known in ids if known.startswith(wanted)] if wanted else []
    if len(starting) == 1:
        return starting[0]
    if starting:
        raise TrackerError(f"id prefix '{wanted}' matches {len(starting)} events: {', '.join(starting[:5])}")
    close = suggest(wanted, ids)
    hint = "; did you mean: " + ", ".join(close) if close else ""
    raise TrackerError(f"no event with id '{wanted}'{hint}")


def resolve_id(log: Log, wanted: str) -> str:
    """The id `wanted` names in `log`, as match_id has it, asking the log only about ids that start like it
    (so that a log answered from its index is not read whole)."""
    if log.has_event_id(wanted):
        return wanted
    starting = log.ids_starting_with(wanted, 1000) if wanted else []
    if starting:
        return match_id(starting, wanted)
    for length in range(len(wanted) - 1, 0, -1):
        nearby = log.ids_starting_with(wanted[:length], 1000)
        if nearby:
            return match_id(nearby, wanted)
    return match_id(log.event_ids(), wanted)


def known_actor_names(log: Log) -> list[str]:
    """Every registry name, then their aliases, then names used only in events."""
    names = [actor.name for actor in log.actors]
    names += [alias for actor in log.actors for alias in actor.aliases]
    return list(dict.fromkeys(names + log.used_actor_names()))


def _unknown_terms(log: Log, actors: Sequence[str], tags: Sequence[str], types: Sequence[str]) -> list[str]:
    warnings = []
    if actors:
        names = known_actor_names(log)
        name_keys = {normalise_name(name) for name in names}
        for name in actors:
            if normalise_name(name) not in name_keys:
                warnings.append(_unknown_message("actor", name, suggest(name, names)))
    if tags:
        all_tags = log.used_tags()
        tag_keys = {normalise_name(tag) for tag in all_tags}
        for tag in tags:
            if normalise_name(tag) not in tag_keys:
                warnings.append(_unknown_message("tag", tag, suggest(tag, all_tags)))
    if types:
        all_types = log.used_types()
        type_keys = {normalise_name(kind) for kind in all_types}
        for kind in types:
            if normalise_name(kind) not in type_keys:
                warnings.append(_unknown_message("type", kind, suggest(kind, all_types)))
    return warnings


def _unknown_message(what: str, value: str, close: list[str]) -> str:
    hint = "; did you mean " + ", ".join(f"'{name}'" for name in close) + "?" if close else ""
    return f"no {what} '{value}' in the log{hint}"


def describe_filters(
    log: Log,
    *,
    since: PartialDate | None = None,
    until: PartialDate | None = None,
    on: Sequence[PartialDate] = (),
    actors: Sequence[str] = (),
    tags: Sequence[str] = (),
    types: Sequence[str] = (),
    search: Sequence[str] = (),
    match_all: bool = False,
    limit: int | None = None,
) -> str:
    """The filters in words, for a report's heading: `since 2024-03 · actor Kim Yo Jong`; "" when none."""
    joiner = " and " if match_all else " or "
    parts = []
    if since is not None:
        parts.append(f"since {date_label(since)}")
    if until is not None:
        parts.append(f"until {date_label(until)}")
    if on:
        parts.append("on " + " or ".join(date_label(period) for period in on))
    if actors:
        names = list(dict.fromkeys(log.canonical_actor(name) for name in actors))
        parts.append(("actor " if len(names) == 1 else "actors ") + joiner.join(names))
    if tags:
        parts.append(("tag " if len(tags) == 1 else "tags ") + joiner.join(tags))
    if types:
        parts.append(("type " if len(types) == 1 else "types ") + " or ".join(types))
    if search:
        parts.append("matching " + " or ".join(f"“{text}”" for text in search))
    if limit is not None:
        parts.append("the most recent" if limit == 1 else f"the {limit} most recent")
    return " · ".join(parts)


STATS_KEYS = ("year", "month", "actor", "type", "tag")


def count_events(events: Iterable[Event], log: Log, by: str) -> list[tuple[str, int]]:
    """How many of `events` fall under each year, month, actor, type or tag.

    Years and months count each event once, at its start (a month-less date counts
    as `YYYY (no month)`), in time order; actors (by registry name), types and tags
    count each event under each of its values, most frequent first.
    """
    counts: dict[str, int] = {}
    for event in events:
        if by == "year":
            keys = [f"{event.date.year:04d}"]
        elif by == "month":
            month = event.date.month
            keys = [f"{event.date.year:04d}-{month:02d}" if month else f"{event.date.year:04d} (no month)"]
        elif by == "actor":
            keys = log.event_actors(event) or ["(no actor)"]
        elif by == "type":
            keys = [event.type or "(no type)"]
        elif by == "tag":
            keys = list(dict.fromkeys(event.tags)) or ["(no tag)"]
        else:
            raise ValueError(f"cannot count by {by!r}; use one of {', '.join(STATS_KEYS)}")
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
    return _count_order(counts, by)


def _count_order(counts: dict[str, int], by: str) -> list[tuple[str, int]]:
    if by in ("year", "month"):
        return sorted(counts.items())
    return sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold()))
