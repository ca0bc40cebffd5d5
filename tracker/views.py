"""Human views: the timeline, one event in full, and the actors summary. They return text."""

from __future__ import annotations

import calendar
import textwrap
from collections.abc import Sequence
from typing import Any

from tracker.dates import date_label
from tracker.formats import Record, cell_text, escape_controls
from tracker.model import EVENT_FIELDS, Event, Log, normalise_name

_BOLD, _DIM, _CYAN, _YELLOW, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[36m", "\x1b[33m", "\x1b[0m"


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color and text else text


def render_timeline(events: Sequence[Event], log: Log, *, color: bool = False) -> str:
    """Year and month headings, then one line per event: date, title, actors."""
    lines: list[str] = []
    year = month = None
    labels = [date_label(event.date, event.end) for event in events]
    width = max((len(label) for label in labels), default=0)
    for event, label in zip(events, labels, strict=True):
        if event.date.year != year:
            year, month = event.date.year, None
            if lines:
                lines.append("")
            lines.append(_paint(f"{year:04d}", _BOLD, color))
        if event.date.month is not None and event.date.month != month:
            month = event.date.month
            lines.append("  " + _paint(calendar.month_name[month], _CYAN, color))
        indent = "    " if event.date.month is not None else "  "
        actors = escape_controls(", ".join(log.event_actors(event)))
        line = f"{indent}{_paint(label.ljust(width), _YELLOW, color)}  {escape_controls(event.title)}"
        if actors:
            line += "  " + _paint(f"· {actors}", _DIM, color)
        lines.append(line)
    return "\n".join(lines) + "\n" if lines else ""


def render_event(event: Event, log: Log, *, color: bool = False, width: int = 88) -> str:
    """Every field of one event: sources resolved, quotes, related events both ways."""
    fields = event.fields
    out = [_paint(escape_controls(event.title), _BOLD, color)]
    header = [
        ("id", event.id),
        ("date", date_label(event.date, event.end) + f"  ({_precision_words(event)})"),
        ("type", event.type),
        ("status", event.status),
        ("actors", ", ".join(log.event_actors(event))),
        ("tags", ", ".join(event.tags)),
        ("location", cell_text(fields.get("location"))),
    ]
    for key, value in header:
        if value:
            out.append(f"{_paint(key.ljust(10), _DIM, color)}{escape_controls(value)}")
    if event.summary:
        out += ["", _paint("Summary", _BOLD, color)]
        for paragraph in escape_controls(event.summary.strip(), keep_newlines=True).split("\n"):
            out += textwrap.wrap(paragraph, width=width, initial_indent="  ", subsequent_indent="  ") or [""]
    for heading, items in (("Quotes", event.quotes), ("Claims", event.claims)):
        if items:
            out += ["", _paint(heading, _BOLD, color)]
            for item in items:
                mark = "“{}”" if heading == "Quotes" else "{}"
                text = mark.format(escape_controls(item["text"]))
                by = escape_controls(item["by"]) + ": " if item["by"] else ""
                out += textwrap.wrap(by + text, width=width, initial_indent="  ", subsequent_indent="    ")
    sources = log.resolve_sources(event)
    if sources:
        out += ["", _paint("Sources", _BOLD, color)]
        for number, source in enumerate(sources, 1):
            line = f"  [{number}] {escape_controls(source.label())}"
            if source.url and source.url != source.label():
                line += f"  {escape_controls(source.url)}"
            out.append(line)
    links = _related_lines(event, log)
    if links:
        out += ["", _paint("Related", _BOLD, color), *links]
    extra = {key: value for key, value in fields.items() if key not in EVENT_FIELDS}
    if extra:
        out += ["", _paint("Other fields", _BOLD, color)]
        out += [f"  {escape_controls(key)}: {escape_controls(cell_text(value))}" for key, value in extra.items()]
    return "\n".join(out) + "\n"


def _precision_words(event: Event) -> str:
    words = {"year": "year", "month": "month", "day": "day", "minute": "time", "second": "time"}
    text = words[event.date.precision]
    if event.end is not None:
        text = "range"
    qualifiers = {"~": ", approximate", "?": ", uncertain", "%": ", approximate and uncertain"}
    return text + qualifiers.get(event.date.qualifier, "")


def _related_lines(event: Event, log: Log) -> list[str]:
    lines = []
    for related_id in event.related:
        other = log.event_by_id(related_id)
        summary = f"{date_label(other.date, other.end)}  {other.title}" if other else "(no such event)"
        lines.append(f"  → {escape_controls(related_id)}  {escape_controls(summary)}")
    referrers = log.events_relating_to(event.id) if event.id else []
    for other in sorted(referrers, key=lambda referrer: referrer.sort_key):
        if other.index != event.index and other.id not in event.related:
            summary = f"{date_label(other.date, other.end)}  {other.title}"
            lines.append(f"  ← {escape_controls(other.id)}  {escape_controls(summary)}")
    return lines


def actor_records(log: Log) -> list[Record]:
    """One record per actor: name, aliases, role, country, event count, first and last date.

    Actors named in events but missing from the registry are listed too, marked as such.
    """
    by_name: dict[str, dict[str, Any]] = {}
    for actor in log.actors:
        by_name[actor.name] = {
            "name": actor.name,
            "aliases": list(actor.aliases),
            "role": actor.role,
            "country": actor.country,
            "events": 0,
            "first": None,
            "last": None,
        }
    spans = log.actor_spans()
    if spans is None:
        spans = {}
        for event in log.chronological():
            for name in dict.fromkeys(log.canonical_actor(actor) for actor in event.actors):
                count, first, _ = spans.get(name, (0, event, event))
                spans[name] = (count + 1, first, event)
    for name, (count, first, last) in spans.items():
        record = by_name.setdefault(
            name, {"name": name, "aliases": [], "role": "(not in registry)", "country": "", "events": 0}
        )
        record.update(events=count, first=first, last=last)
    records = []
    for record in by_name.values():
        first, last = record.pop("first", None), record.pop("last", None)
        record["first"] = str(first.date) if first else ""
        record["last"] = str(last.end or last.date) if last else ""
        records.append(record)
    return sorted(records, key=lambda record: (normalise_name(record["name"]), record["name"]))


ACTOR_COLUMNS = ("name", "aliases", "role", "country", "events", "first", "last")
