"""Filters and ordering over a Log's events: pure functions, no I/O."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from tracker.dates import PartialDate, date_label
from tracker.errors import TrackerError
from tracker.model import Event, Log, normalise_name


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
    warnings = _unknown_terms(log, actors, tags, types)
    if since is not None and until is not None and until.stop <= since.start:
        warnings.append(f"--until {until} ends before --since {since} begins: nothing can match")
    actor_keys = [normalise_name(log.canonical_actor(name)) for name in actors]
    tag_keys = [normalise_name(tag) for tag in tags]
    type_keys = {normalise_name(kind) for kind in types}
    needles = [" ".join(text.casefold().split()) for text in search]
    combine = all if match_all else any
    candidates = log.candidates(
        since=since, until=until, on=on, actor_keys=actor_keys, tag_keys=tag_keys, type_keys=sorted(type_keys),
        search=needles, match_all=match_all, newest=limit,
    )  # fmt: skip
    matches = []
    for event in sorted(candidates, key=lambda event: event.sort_key):
        if since is not None and event.stop <= since.start:
            continue
        if until is not None and event.start >= until.stop:
            continue
        if on and not any(event.overlaps(period.start, period.stop) for period in on):
            continue
        if actor_keys:
            event_actors = {normalise_name(log.canonical_actor(name)) for name in event.actors}
            if not combine(key in event_actors for key in actor_keys):
                continue
        if tag_keys:
            event_tags = {normalise_name(tag) for tag in event.tags}
            if not combine(key in event_tags for key in tag_keys):
                continue
        if type_keys and normalise_name(event.type) not in type_keys:
            continue
        if needles:
            haystack = searchable_text(event)
            if not any(needle in haystack for needle in needles):
                continue
        matches.append(event)
    if limit is not None:
        matches = matches[-limit:] if limit > 0 else []
    if reverse:
        matches.reverse()
    return Selection(matches, warnings)


def searchable_text(event: Event) -> str:
    """Title, summary, location, quotes and claims (with who said them), casefolded with spacing collapsed."""
    parts = [event.title, event.summary, event.location]
    for item in event.quotes + event.claims:
        parts += [item["by"], item["text"]]
    return " ".join(" ".join(parts).casefold().split())


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


def count_events(events: Sequence[Event], log: Log, by: str) -> list[tuple[str, int]]:
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
    if by in ("year", "month"):
        return sorted(counts.items())
    return sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold()))
