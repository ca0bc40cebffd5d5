"""What the exporters share: an event's sources as links, and a report's heading line."""

from __future__ import annotations

from dataclasses import dataclass

from tracker.dates import date_label
from tracker.formats import Report
from tracker.model import Event, Log

_SAFE_SCHEMES = ("http://", "https://", "mailto:")


def safe_url(url: str) -> str:
    """`url` when it is http(s) or mailto, else "" (no javascript: or data: links in a report)."""
    return url if url.strip().lower().startswith(_SAFE_SCHEMES) else ""


@dataclass(frozen=True)
class Link:
    """A source as a reader sees it: its label and, when known, its URL."""

    label: str
    url: str


def source_links(event: Event, log: Log) -> list[Link]:
    """The event's sources, registry ids resolved, in the order the event cites them."""
    return [Link(source.label(), source.url) for source in log.resolve_sources(event)]


def period_of(events: list[Event] | tuple[Event, ...]) -> str:
    """`1970 – 2024-04-14`: from the earliest start to the latest end of `events`."""
    if not events:
        return ""
    first = min(events, key=lambda event: event.sort_key)
    last = max(events, key=lambda event: (event.stop, event.sort_key))
    last_date = last.end or last.date
    if first is last and last.end is None:
        return date_label(first.date)
    return f"{date_label(first.date)} – {date_label(last_date)}"


def subtitle(report: Report) -> str:
    """`19 events · 1970 – 2024-04-14 · actor Kim Yo Jong`: count, period and filters."""
    events = list(report.events or ())
    count = f"{len(events)} event" + ("" if len(events) == 1 else "s")
    return " · ".join(part for part in (count, period_of(events), report.scope) if part)
