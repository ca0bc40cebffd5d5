"""Events, actors and sources, and the Log that holds them with alias resolution."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tracker.dates import PartialDate, parse_date
from tracker.errors import DateError, Location, Problem, UsageError
from tracker.nodes import DateText, Mark, YamlList, YamlMap

EVENT_FIELDS = (
    "id",
    "date",
    "end",
    "title",
    "summary",
    "actors",
    "type",
    "tags",
    "location",
    "sources",
    "quotes",
    "claims",
    "related",
    "status",
)
ACTOR_FIELDS = ("name", "aliases", "role", "country")
SOURCE_FIELDS = ("id", "title", "publisher", "section", "date", "url", "file", "author")
INLINE_SOURCE_FIELDS = ("url", "publisher", "title", "date")
STATUSES = ("reported", "confirmed", "disputed", "alleged")
LIST_FIELDS = ("actors", "tags", "sources", "quotes", "claims", "related")
TEXT_FIELDS = ("id", "date", "end", "title", "summary", "type", "location", "status")


@functools.lru_cache(maxsize=8192)
def normalise_name(name: str) -> str:
    """The key names are matched by: case, accents, hyphens, dots and spacing ignored."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum())


def slugify(text: str) -> str:
    """Lowercase ASCII words joined by hyphens (`Kim Yo Jong's statement` -> `kim-yo-jongs-statement`)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = ascii_text.lower().replace("'", "").replace("\u2019", "")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


@dataclass(frozen=True)
class Actor:
    """An entry of the `actors:` registry."""

    name: str
    aliases: tuple[str, ...] = ()
    role: str = ""
    country: str = ""
    fields: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Source:
    """An entry of the `sources:` registry, or an inline `{url, publisher, title}`."""

    id: str
    title: str = ""
    publisher: str = ""
    url: str = ""
    fields: dict[str, Any] = field(default_factory=dict, compare=False)

    def label(self) -> str:
        """`Title (Publisher)`, or whatever of them is known."""
        parts = [self.title or self.id or self.url]
        if self.publisher:
            parts.append(f"({self.publisher})")
        return " ".join(part for part in parts if part)


@dataclass(eq=False)
class Event:
    """One event: its fields exactly as written, plus its date interval."""

    fields: dict[str, Any]
    date: PartialDate
    end: PartialDate | None = None
    index: int = 0

    @property
    def id(self) -> str:
        return _text(self.fields.get("id"))

    @property
    def title(self) -> str:
        return _text(self.fields.get("title"))

    @property
    def summary(self) -> str:
        return _text(self.fields.get("summary"))

    @property
    def type(self) -> str:
        return _text(self.fields.get("type"))

    @property
    def location(self) -> str:
        return _text(self.fields.get("location"))

    @property
    def status(self) -> str:
        return _text(self.fields.get("status"))

    @property
    def actors(self) -> list[str]:
        return text_list(self.fields.get("actors"))

    @property
    def tags(self) -> list[str]:
        return text_list(self.fields.get("tags"))

    @property
    def related(self) -> list[str]:
        return text_list(self.fields.get("related"))

    @property
    def quotes(self) -> list[dict[str, str]]:
        return attributed(self.fields.get("quotes"))

    @property
    def claims(self) -> list[dict[str, str]]:
        return attributed(self.fields.get("claims"))

    @property
    def start(self) -> datetime:
        """First instant of the event's period."""
        return self.date.start

    @property
    def stop(self) -> datetime:
        """Instant just after the event's period (its `end:` widens it)."""
        if self.end is not None and self.end.stop > self.date.stop:
            return self.end.stop
        return self.date.stop

    @property
    def sort_key(self) -> tuple[datetime, int, str, int]:
        """Start, then coarser before finer precision, then id, then file order."""
        return (self.start, self.date.precision_rank, self.id, self.index)

    def overlaps(self, start: datetime, stop: datetime) -> bool:
        """True when the event's period shares an instant with [start, stop)."""
        return self.start < stop and start < self.stop


@dataclass
class Log:
    """Everything in one log file: events in file order and the registries."""

    path: str
    events: list[Event] = field(default_factory=list)
    actors: list[Actor] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    data: Any = None
    heading: str = ""
    _actor_keys: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for actor in self.actors:
            for name in (actor.name, *actor.aliases):
                self._actor_keys.setdefault(normalise_name(name), actor.name)

    def canonical_actor(self, name: str) -> str:
        """The registry name for `name` or one of its aliases; `name` itself if unknown."""
        return self._actor_keys.get(normalise_name(name), name)

    def event_actors(self, event: Event) -> list[str]:
        """The event's actors by their registry names, each once."""
        return list(dict.fromkeys(self.canonical_actor(name) for name in event.actors))

    def is_known_actor(self, name: str) -> bool:
        return normalise_name(name) in self._actor_keys

    def event_by_id(self, event_id: str) -> Event | None:
        for event in self.events:
            if event.id == event_id:
                return event
        return None

    def has_event_id(self, event_id: str) -> bool:
        """Whether some event has this id."""
        return self.event_by_id(event_id) is not None

    def ids_starting_with(self, prefix: str, limit: int | None = None) -> list[str]:
        """The ids of events that start with `prefix`, in file order, at most `limit` of them."""
        found = [event.id for event in self.events if event.id.startswith(prefix)]
        return found if limit is None else found[:limit]

    def events_dated(self, when: PartialDate) -> list[Event]:
        """The events whose date is exactly `when` (the same period, precision and marks), in file order."""
        return [event for event in self.events if event.date == when]

    def events_relating_to(self, event_id: str) -> list[Event]:
        """The events whose related list names `event_id`, in file order."""
        return [event for event in self.events if event_id in event.related]

    def event_ids(self) -> list[str]:
        """Every event's id, in file order."""
        return [event.id for event in self.events]

    def used_actor_names(self) -> list[str]:
        """Actor names as events write them, each once, in first-use order."""
        return list(dict.fromkeys(name for event in self.events for name in event.actors))

    def used_tags(self) -> list[str]:
        """Tags as events write them, each once, in first-use order."""
        return list(dict.fromkeys(tag for event in self.events for tag in event.tags))

    def used_types(self) -> list[str]:
        """Event types, each once, in first-use order."""
        return list(dict.fromkeys(event.type for event in self.events if event.type))

    def used_fields(self) -> list[str]:
        """Field names events use, each once, in first-use order."""
        return list(dict.fromkeys(key for event in self.events for key in event.fields))

    def candidates(
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
    ) -> list[Event]:
        """Events that may match these filters, in any order: every match is among them.

        A log read from its file returns all its events; one answered from the index
        narrows them there (query.select_events applies the filters either way).
        Keys are normalise_name()d and `search` texts casefolded as query.searchable_text;
        `newest` may cut the candidates to the N latest matches.
        """
        return self.events

    def ordered(self, *, descending: bool = False, **terms: Any) -> Iterator[Event]:
        """The candidates for `terms` (see candidates) in sort_key order, newest first with `descending`;
        a log answered from its index reads them as they are asked for."""
        return iter(sorted(self.candidates(**terms), key=lambda event: event.sort_key, reverse=descending))

    def ordered_records(self, *, descending: bool = False, **terms: Any) -> Iterator[dict[str, Any]] | None:
        """The fields (as plain data) of exactly the events `terms` select, in sort_key order, when the log
        selects exactly by itself (an index does, in SQL); None when the caller must filter events."""
        return None

    def counts(self, by: str, **terms: Any) -> dict[str, int] | None:
        """How many of the events `terms` select fall under each key of `by` (as query.count_events
        counts them), when the log can count without building the events; None when it cannot."""
        return None

    def fields_among(self, **terms: Any) -> list[str] | None:
        """The fields the events `terms` select use, in the order the log first uses them, when the log
        can say without building the events; None when it cannot."""
        return None

    def actor_spans(self) -> dict[str, tuple[int, Event, Event]] | None:
        """For each actor (by registry name) events name: how many, and the first and last of them in
        sort_key order; None when the log cannot say without building every event."""
        return None

    def source_by_id(self, source_id: str) -> Source | None:
        for source in self.sources:
            if source.id == source_id:
                return source
        return None

    def resolve_sources(self, event: Event) -> list[Source]:
        """The event's sources, registry ids resolved; an unknown id stays a bare Source."""
        resolved = []
        for entry in _as_list(event.fields.get("sources")):
            if isinstance(entry, dict):
                resolved.append(_inline_source(entry))
            elif entry is not None:
                text = str(entry)
                known = self.source_by_id(text)
                resolved.append(known or (Source(id="", url=text) if "://" in text else Source(id=text)))
        return resolved

    def chronological(self) -> list[Event]:
        """All events, ordered by sort_key."""
        return sorted(self.events, key=lambda event: event.sort_key)


def build_log(data: Any, path: str) -> tuple[Log, list[Problem]]:
    """Build a Log from constructed YAML, collecting every problem that makes an entry unusable.

    An event whose date or title is unusable is left out of the Log, and a Problem says why.
    """
    problems: list[Problem] = []
    if data is None:
        return Log(path=path, data=data), problems
    if isinstance(data, YamlList):
        raw_events: Any = data
        registries: dict[str, Any] = {}
    elif isinstance(data, YamlMap):
        raw_events = data.get("events")
        registries = data
        if raw_events is not None and not isinstance(raw_events, list):
            problems.append(_problem(path, data.value_marks["events"], "'events' must be a list of events"))
            raw_events = None
    else:
        return Log(path=path, data=data), [
            Problem(Location(path, 1, 1), "the log must be a mapping with an 'events:' list, or a list of events")
        ]
    actors = _build_actors(registries.get("actors"), registries, path, problems)
    sources = _build_sources(registries.get("sources"), registries, path, problems)
    events = []
    for index, raw in enumerate(raw_events or []):
        mark = raw_events.item_marks[index]
        event = _build_event(raw, index, mark, path, problems)
        if event is not None:
            events.append(event)
    return Log(path=path, events=events, actors=actors, sources=sources, data=data), problems


def raw_events(data: Any) -> list[Any]:
    """Every entry of the events list as read, usable or not."""
    if isinstance(data, list):
        return list(data)
    if isinstance(data, dict) and isinstance(data.get("events"), list):
        return list(data["events"])
    return []


def event_location(path: str, fields: YamlMap, key: str | None = None, *, value: bool = False) -> Location:
    """Where an event (or one of its keys, or that key's value) stands in the file."""
    if key is not None and key in fields.key_marks:
        mark = fields.value_marks[key] if value else fields.key_marks[key]
    else:
        mark = fields.start
    return Location(path, mark.line + 1, mark.column + 1)


def _build_event(raw: Any, index: int, mark: Mark, path: str, problems: list[Problem]) -> Event | None:
    if not isinstance(raw, YamlMap):
        problems.append(_problem(path, mark, "an event must be a mapping of fields (id, date, title, ...)"))
        return None
    sound = _sound_event(raw, index)
    if sound is not None:
        return sound
    usable = True
    for key in TEXT_FIELDS:
        if key in raw and raw[key] is not None and not isinstance(raw[key], str):
            problems.append(Problem(event_location(path, raw, key, value=True), f"'{key}' must be text"))
            usable = False
    for key in LIST_FIELDS:
        value = raw.get(key)
        if value is not None and not isinstance(value, (list, str)):
            problems.append(Problem(event_location(path, raw, key, value=True), f"'{key}' must be a list"))
            usable = False
        elif key in ("actors", "tags", "related") and any(not isinstance(item, str) for item in value or ()):
            problems.append(Problem(event_location(path, raw, key, value=True), f"'{key}' must be a list of text"))
            usable = False
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        where = event_location(path, raw, "title", value=True) if "title" in raw else event_location(path, raw)
        problems.append(Problem(where, "event has no title"))
        usable = False
    elif "\n" in title or "\r" in title:
        problems.append(Problem(event_location(path, raw, "title", value=True), "title must be one line"))
        usable = False
    date = _event_date(raw, "date", path, problems)
    if "date" not in raw or raw.get("date") is None:
        problems.append(Problem(event_location(path, raw), "event has no date"))
        usable = False
    elif date is None:
        usable = False
    end = _event_date(raw, "end", path, problems) if raw.get("end") is not None else None
    if raw.get("end") is not None and end is None:
        usable = False
    for key in ("quotes", "claims"):
        for position, item in enumerate(_as_list(raw.get(key))):
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                item_marks = getattr(raw.get(key), "item_marks", None)
                where = (
                    _problem(path, item_marks[position], "").location
                    if item_marks
                    else event_location(path, raw, key, value=True)
                )
                problems.append(Problem(where, f"each of '{key}' must be a mapping with 'by' and 'text'"))
                usable = False
    if not usable or date is None:
        return None
    return Event(fields=raw, date=date, end=end, index=index)


_TEXT_KEYS = frozenset(TEXT_FIELDS)
_NAME_LIST_KEYS = frozenset(("actors", "tags", "related"))
_OTHER_LIST_KEYS = frozenset(("sources",))


def _sound_event(raw: YamlMap, index: int) -> Event | None:
    """The Event when every rule of _build_event holds (the common case, checked quickly); else None."""
    for key, value in raw.items():
        if value is None or value.__class__ is str:
            continue
        if key in _TEXT_KEYS:
            return None
        if key in _NAME_LIST_KEYS:
            if not isinstance(value, list) or any(item.__class__ is not str for item in value):
                return None
        elif key in _OTHER_LIST_KEYS and not isinstance(value, list):
            return None
    for key in ("quotes", "claims"):
        value = raw.get(key)
        if value is not None and (
            not isinstance(value, list)
            or any(not isinstance(item, dict) or not isinstance(item.get("text"), str) for item in value)
        ):
            return None
    title = raw.get("title")
    if title.__class__ is not str or not title.strip() or "\n" in title or "\r" in title:
        return None
    date_text, end_text = raw.get("date"), raw.get("end")
    if date_text.__class__ is not str or (end_text is not None and end_text.__class__ is not str):
        return None
    try:
        date = parse_date(date_text)
        end = parse_date(end_text) if end_text is not None else None
    except DateError:
        return None
    return Event(fields=raw, date=date, end=end, index=index)


def _event_date(raw: YamlMap, key: str, path: str, problems: list[Problem]) -> PartialDate | None:
    value = raw.get(key)
    if value is None or not isinstance(value, str):
        return None
    try:
        return parse_date(value)
    except DateError as error:
        problems.append(Problem(event_location(path, raw, key, value=True), str(error)))
        return None


def _build_actors(raw: Any, registries: Any, path: str, problems: list[Problem]) -> list[Actor]:
    actors = []
    for position, entry in enumerate(_registry_entries(raw, "actors", registries, path, problems)):
        if isinstance(entry, str):
            actors.append(Actor(name=entry))
            continue
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip():
            problems.append(_problem(path, raw.item_marks[position], "an actor needs a 'name'"))
            continue
        aliases = entry.get("aliases")
        if isinstance(aliases, str):
            aliases = [aliases]
        actors.append(
            Actor(
                name=name,
                aliases=tuple(str(alias) for alias in aliases or () if alias is not None),
                role=_text(entry.get("role")),
                country=_text(entry.get("country")),
                fields=entry,
            )
        )
    return actors


def _build_sources(raw: Any, registries: Any, path: str, problems: list[Problem]) -> list[Source]:
    sources = []
    for position, entry in enumerate(_registry_entries(raw, "sources", registries, path, problems)):
        source_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(source_id, str) or not source_id.strip():
            problems.append(_problem(path, raw.item_marks[position], "a source needs an 'id'"))
            continue
        sources.append(
            Source(
                id=source_id,
                title=_text(entry.get("title")),
                publisher=_text(entry.get("publisher")),
                url=_text(entry.get("url")),
                fields=entry,
            )
        )
    return sources


def _registry_entries(raw: Any, key: str, registries: Any, path: str, problems: list[Problem]) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(_problem(path, registries.value_marks[key], f"'{key}' must be a list"))
        return []
    return raw


def _inline_source(entry: dict[str, Any]) -> Source:
    return Source(
        id=_text(entry.get("id")),
        title=_text(entry.get("title")),
        publisher=_text(entry.get("publisher")),
        url=_text(entry.get("url")),
        fields=entry,
    )


def _problem(path: str, mark: Mark, message: str) -> Problem:
    return Problem(Location(path, mark.line + 1, mark.column + 1), message)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def text_list(value: Any) -> list[str]:
    """The text items of a list field (a single text counts as a one-item list)."""
    return [item for item in _as_list(value) if isinstance(item, str)]


def attributed(value: Any) -> list[dict[str, str]]:
    """`quotes` or `claims` as `{by, text}` pairs."""
    return [
        {"by": _text(item.get("by")), "text": _text(item.get("text"))}
        for item in _as_list(value)
        if isinstance(item, dict)
    ]


MAX_SLUG_LENGTH = 60


def make_event_id(log: Log, date: PartialDate, title: str, *, taken: set[str] | None = None) -> str:
    """A unique slug from date and title (`2024-04-02-north-korea-tests-an-irbm`), suffixed -2, -3...
    if the log (or `taken`, ids about to join it) already has it."""
    words = slugify(title) or "event"
    if len(words) > MAX_SLUG_LENGTH:
        words = words[:MAX_SLUG_LENGTH].rsplit("-", 1)[0] or words[:MAX_SLUG_LENGTH]
    base = f"{date.date_part}-{words}"
    candidate, number = base, 2
    while candidate in (taken or ()) or log.has_event_id(candidate):
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def new_event_fields(
    log: Log,
    *,
    title: str,
    date: PartialDate,
    end: PartialDate | None = None,
    actors: Sequence[str] = (),
    tags: Sequence[str] = (),
    type: str | None = None,
    location: str | None = None,
    summary: str | None = None,
    sources: Sequence[str] = (),
    quotes: Sequence[str] = (),
    related: Sequence[str] = (),
    status: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """The fields of a new event, validated against `log`, in the log's usual key order.

    Actor aliases become their registry names; a source that is not a registry id
    must be a URL; quotes are 'WHO: TEXT'. Problems raise UsageError naming the option.
    """
    title = title.strip()
    if not title:
        raise UsageError("TITLE: must not be empty")
    for option, values in (("--actor", actors), ("--tag", tags), ("--source", sources), ("--related", related)):
        if any(not value.strip() for value in values):
            raise UsageError(f"{option}: must not be empty")
    if "\n" in title or "\r" in title:
        raise UsageError("TITLE: must be one line")
    if end is not None and end.stop <= date.stop:
        raise UsageError(f"--end: {end} does not come after --date {date}")
    if status is not None:
        status = status.strip().lower()
        if status not in STATUSES:
            raise UsageError(f"--status: '{status}' is not one of {', '.join(STATUSES)}")
    if event_id is not None:
        event_id = event_id.strip()
        if not event_id or any(char.isspace() for char in event_id):
            raise UsageError("--id: must be one word without spaces")
        if log.has_event_id(event_id):
            raise UsageError(f"--id: an event with id '{event_id}' already exists")
    for related_id in related:
        if not log.has_event_id(related_id):
            raise UsageError(f"--related: no event with id '{related_id}'")
    fields: dict[str, Any] = {
        "id": event_id or make_event_id(log, date, title),
        "date": DateText(str(date)),
    }
    if end is not None:
        fields["end"] = DateText(str(end))
    fields["title"] = title
    if summary:
        fields["summary"] = summary.strip()
    if actors:
        fields["actors"] = list(dict.fromkeys(log.canonical_actor(name.strip()) for name in actors))
    if type:
        fields["type"] = _known_spelling(type.strip(), log.used_types())
    if tags:
        used_tags = log.used_tags()
        fields["tags"] = list(dict.fromkeys(_known_spelling(tag.strip(), used_tags) for tag in tags))
    if location:
        fields["location"] = location.strip()
    if sources:
        fields["sources"] = [_source_entry(log, source) for source in dict.fromkeys(sources)]
    if quotes:
        fields["quotes"] = [_quote_entry(log, quote) for quote in quotes]
    if related:
        fields["related"] = list(dict.fromkeys(related))
    if status:
        fields["status"] = status
    return fields


def _known_spelling(value: str, used: Sequence[str]) -> str:
    """`value` as the log already spells it (`Abduction Issue` -> `abduction-issue`), else as given."""
    wanted = normalise_name(value)
    for known in used:
        if normalise_name(known) == wanted:
            return known
    return value


def _source_entry(log: Log, source: str) -> str | dict[str, str]:
    source = source.strip()
    if log.source_by_id(source) is not None:
        return source
    if "://" in source:
        return {"url": source}
    known = [entry.id for entry in log.sources]
    hint = f" (known: {', '.join(known[:5])}{', …' if len(known) > 5 else ''})" if known else ""
    raise UsageError(f"--source: '{source}' is neither a source id in the registry nor a URL{hint}")


def _quote_entry(log: Log, quote: str) -> dict[str, str]:
    who, separator, text = quote.partition(":")
    if not separator or not who.strip() or not text.strip():
        raise UsageError(f"--quote: expected 'WHO: TEXT', got {quote!r}")
    return {"by": log.canonical_actor(who.strip()), "text": text.strip()}


REQUIRED_FIELDS = ("id", "date", "title")


def edited_fields(
    log: Log,
    fields: dict[str, Any],
    *,
    set_values: dict[str, Any] | None = None,
    unset: Sequence[str] = (),
    add_actors: Sequence[str] = (),
    remove_actors: Sequence[str] = (),
    add_tags: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
) -> dict[str, Any]:
    """The event's fields after an edit, in their order with new ones last, validated like `add`.

    `set_values` maps a field to its new value (dates already in ISO form); actors
    are added by registry name and removed by name or alias; tags keep the log's spelling.
    """
    new = dict(fields)
    for option, names in (("--add-actor", add_actors), ("--add-tag", add_tags)):
        if any(not name.strip() for name in names):
            raise UsageError(f"{option}: must not be empty")
    for key, value in (set_values or {}).items():
        if value is None or value == "" or value == []:
            raise UsageError(f"--set {key}: empty value (use --unset {key} to remove a field)")
        new[key] = value
    for key in unset:
        if key in REQUIRED_FIELDS:
            raise UsageError(
                f"--unset {key}: every event needs an {key}"
                if key == "id"
                else f"--unset {key}: every event needs a {key}"
            )
        if key not in new:
            raise UsageError(f"--unset {key}: the event has no field '{key}'")
        del new[key]
    if add_actors or remove_actors:
        gone = {normalise_name(log.canonical_actor(name)) for name in remove_actors}
        actors = [
            name for name in text_list(new.get("actors")) if normalise_name(log.canonical_actor(name)) not in gone
        ]
        missing = gone - {normalise_name(log.canonical_actor(name)) for name in text_list(new.get("actors"))}
        if missing:
            raise UsageError(f"--remove-actor: the event does not name {', '.join(sorted(remove_actors))}")
        actors += [log.canonical_actor(name.strip()) for name in add_actors]
        _set_or_drop(new, "actors", list(dict.fromkeys(actors)))
    if add_tags or remove_tags:
        gone = {normalise_name(tag) for tag in remove_tags}
        tags = [tag for tag in text_list(new.get("tags")) if normalise_name(tag) not in gone]
        used = log.used_tags()
        tags += [_known_spelling(tag.strip(), used) for tag in add_tags]
        _set_or_drop(new, "tags", list(dict.fromkeys(tags)))
    _validate_edit(log, fields, new)
    return new


def _set_or_drop(fields: dict[str, Any], key: str, values: list[str]) -> None:
    if values:
        fields[key] = values
    else:
        fields.pop(key, None)


def _validate_edit(log: Log, old: dict[str, Any], new: dict[str, Any]) -> None:
    for key in TEXT_FIELDS:
        if new.get(key) is not None and not isinstance(new[key], str):
            raise UsageError(f"{key}: must be text, not a list or mapping")
    for key in ("actors", "tags", "related"):
        value = new.get(key)
        if value is not None and (not isinstance(value, list) or any(not isinstance(item, str) for item in value)):
            raise UsageError(f"{key}: must be a list of text")
    title = new.get("title")
    if not isinstance(title, str) or not title.strip():
        raise UsageError("title: must not be empty")
    if "\n" in title.strip() or "\r" in title:
        raise UsageError("title: must be one line")
    try:
        start = parse_date(new["date"])
        finish = parse_date(new["end"]) if new.get("end") is not None else None
    except (DateError, TypeError) as error:
        raise UsageError(f"date: {error}") from None
    if finish is not None and finish.stop <= start.stop:
        raise UsageError(f"end: {finish} does not come after date {start}")
    status = new.get("status")
    if status is not None and status not in STATUSES:
        raise UsageError(f"status: '{status}' is not one of {', '.join(STATUSES)}")
    new_id = new.get("id")
    if not isinstance(new_id, str) or not new_id.strip() or any(char.isspace() for char in new_id):
        raise UsageError("id: must be one word without spaces")
    if new_id != old.get("id") and log.event_by_id(new_id) is not None:
        raise UsageError(f"id: an event with id '{new_id}' already exists")
    for related_id in text_list(new.get("related")):
        if related_id != new_id and not log.has_event_id(related_id):
            raise UsageError(f"related: no event with id '{related_id}'")
