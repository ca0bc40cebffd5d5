"""iCalendar (RFC 5545) export, built with the icalendar library.

Days are all-day events; ranges span their days; month- and year-precision dates
are all-day spans of their whole period, the precision stated in the summary;
timed events keep their time (converted to UTC when an offset is given). UIDs
come from event ids, so importing a newer export updates events, not duplicates them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tracker import __version__
from tracker.dates import PartialDate, date_label
from tracker.exporters.common import safe_url, source_links
from tracker.formats import Report, escape_controls
from tracker.model import Event, Log

_STATUS = {"confirmed": "CONFIRMED", "reported": "TENTATIVE", "alleged": "TENTATIVE", "disputed": "TENTATIVE"}


def _clean(text: str) -> str:
    """Text without the control characters RFC 5545 forbids (shown as escapes); line breaks stay."""
    return escape_controls(text, keep_newlines=True)


def uid(event: Event) -> str:
    """A stable UID for the event: its id, scoped to tracker."""
    return f"{event.id}@tracker"


def render(report: Report) -> str:
    """The report's events as one VCALENDAR."""
    from icalendar import Calendar
    from icalendar import Event as CalendarEvent

    calendar = Calendar()
    calendar.add("prodid", f"-//tracker//tracker {__version__}//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", report.title)
    stamp = report.generated.astimezone(UTC) if report.generated.tzinfo else report.generated
    stamp = stamp.replace(tzinfo=UTC)
    log = report.log
    for event in report.events or ():
        entry = CalendarEvent()
        entry.add("uid", uid(event))
        entry.add("dtstamp", stamp)
        start, end = _span(event)
        entry.add("dtstart", start)
        if end is not None:
            entry.add("dtend", end)
        entry.add("summary", _clean(_summary(event)))
        entry.add("description", _clean(_description(event, log)))
        links = [safe_url(link.url) for link in source_links(event, log)] if log else []
        if any(links):
            entry.add("url", next(url for url in links if url))
        if event.location:
            entry.add("location", _clean(event.location))
        categories = list(dict.fromkeys(value for value in (event.type, *event.tags) if value))
        if categories:
            entry.add("categories", categories)
        if event.status in _STATUS:
            entry.add("status", _STATUS[event.status])
        calendar.add_component(entry)
    return calendar.to_ical().decode("utf-8")


def _moment(date: PartialDate) -> datetime:
    moment = date.start
    if date.tz:
        offset = timedelta(0) if date.tz == "Z" else _offset(date.tz)
        return (moment - offset).replace(tzinfo=UTC)
    return moment


def _offset(text: str) -> timedelta:
    sign = -1 if text.startswith("-") else 1
    hours, minutes = text[1:].split(":")
    return sign * timedelta(hours=int(hours), minutes=int(minutes))


def _span(event: Event) -> tuple[object, object | None]:
    """DTSTART and DTEND: dates for day, month and year precision (DTEND exclusive), else date-times."""
    if event.date.precision in ("minute", "second"):
        start = _moment(event.date)
        if event.end is None:
            return start, None
        end = _moment(event.end) if event.end.precision in ("minute", "second") else event.stop
        return start, end
    return event.start.date(), event.stop.date() if event.stop != datetime.max else None


def _summary(event: Event) -> str:
    partial = event.date.precision in ("month", "year") or (event.end and event.end.precision in ("month", "year"))
    if partial or event.date.qualifier or (event.end and event.end.qualifier):
        return f"{event.title} [{date_label(event.date, event.end)}]"
    return event.title


def _description(event: Event, log: Log | None) -> str:
    parts = []
    if event.summary:
        parts.append(event.summary.strip())
    parts += [f"“{quote['text']}” — {quote['by']}" if quote["by"] else f"“{quote['text']}”" for quote in event.quotes]
    parts += [f"{claim['by']}: {claim['text']}" if claim["by"] else claim["text"] for claim in event.claims]
    if log is not None:
        links = source_links(event, log)
        if links:
            parts.append(
                "Sources:\n" + "\n".join(f"[{n}] {link.label} {link.url}".rstrip() for n, link in enumerate(links, 1))
            )
    parts.append(f"Date as recorded: {date_label(event.date, event.end)} · id: {event.id}")
    return "\n\n".join(parts)
