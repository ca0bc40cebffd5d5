"""TimelineJS3 JSON: `events` with start_date/end_date parts as integers, loadable as is.

Partial, approximate and uncertain dates and ranges get a `display_date` in words,
so TimelineJS never shows `2024-02` as 1 February. Text fields are HTML (TimelineJS
renders them as such), escaped from the log.
"""

from __future__ import annotations

import calendar
import json
from html import escape as _escape
from typing import Any
from urllib.parse import quote as url_quote

from tracker.dates import PartialDate
from tracker.exporters.common import safe_url, source_links, subtitle
from tracker.formats import Report, escape_controls
from tracker.model import Event, Log


def escape(text: str) -> str:
    return _escape(escape_controls(text), quote=True)


def date_object(date: PartialDate) -> dict[str, int]:
    """TimelineJS date parts, integers, only as precise as the date is."""
    parts = {"year": date.year}
    for name in ("month", "day", "hour", "minute", "second"):
        value = getattr(date, name)
        if value is not None:
            parts[name] = value
    return parts


def words(date: PartialDate) -> str:
    """`25 March 2024`, `March 2024`, `2024`, with `c.` when approximate and `?` when uncertain."""
    text = str(date.year)
    if date.month is not None:
        text = f"{calendar.month_name[date.month]} {text}"
    if date.day is not None:
        text = f"{date.day} {text}"
    if date.minute is not None:
        text += f", {date.hour:02d}:{date.minute:02d}{(' ' + date.tz) if date.tz else ''}"
    if date.qualifier in ("~", "%"):
        text = "c. " + text
    if date.qualifier in ("?", "%"):
        text += "?"
    return text


def _last_day(date: PartialDate) -> dict[str, int]:
    """The end of a range as TimelineJS needs it: a month or year end is its last day."""
    if date.precision not in ("month", "year"):
        return date_object(date)
    month = date.month or 12
    return {"year": date.year, "month": month, "day": calendar.monthrange(date.year, month)[1]}


def render(report: Report) -> str:
    """The report as a TimelineJS3 data object."""
    data: dict[str, Any] = {
        "title": {"text": {"headline": escape(report.title), "text": f"<p>{escape(subtitle(report))}</p>"}},
        "events": [_slide(event, report.log) for event in report.events or ()],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _slide(event: Event, log: Log | None) -> dict[str, Any]:
    slide: dict[str, Any] = {"unique_id": event.id, "start_date": date_object(event.date)}
    if event.end is not None:
        slide["end_date"] = _last_day(event.end)
    exact = event.date.precision not in ("month", "year") and not event.date.qualifier
    if event.end is not None:
        slide["display_date"] = f"{words(event.date)} – {words(event.end)}"
    elif not exact:
        slide["display_date"] = words(event.date)
    slide["text"] = {"headline": escape(event.title), "text": _text(event, log)}
    slide["autolink"] = False
    if event.type:
        slide["group"] = event.type
    return slide


def _text(event: Event, log: Log | None) -> str:
    html = []
    if event.summary:
        html.append(f"<p>{escape(event.summary.strip())}</p>")
    for quote in event.quotes:
        by = f" — {escape(quote['by'])}" if quote["by"] else ""
        html.append(f"<blockquote>“{escape(quote['text'])}”{by}</blockquote>")
    for claim in event.claims:
        by = f"{escape(claim['by'])}: " if claim["by"] else ""
        html.append(f"<p>{by}{escape(claim['text'])}</p>")
    if log is not None:
        links = []
        for link in source_links(event, log):
            url = safe_url(link.url)
            href = url_quote(url, safe=":/?#[]@!$&'()*+,;=%~")
            links.append(f'<a href="{escape(href)}">{escape(link.label)}</a>' if url else escape(link.label))
        if links:
            html.append("<p>Sources: " + "; ".join(links) + "</p>")
    return "".join(html)
