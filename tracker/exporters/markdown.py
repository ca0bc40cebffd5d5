"""Markdown briefing: a title, what it covers, a table of events, then a section per event."""

from __future__ import annotations

import re

from tracker.dates import date_label
from tracker.exporters.common import safe_url, source_links, subtitle
from tracker.formats import Report, cell_text, escape_controls

_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]<>|~])")
_BLOCK_START = re.compile(r"^(\s*)(?:([#>+-])|(\d+)([.)]))")


def escape(text: str) -> str:
    """`text` as literal Markdown: inline markup characters and block markers at a line start escaped."""
    text = _INLINE_SPECIALS.sub(r"\\\1", escape_controls(text, keep_newlines=True))
    return "\n".join(_BLOCK_START.sub(_escape_block_marker, line) for line in text.split("\n"))


def _escape_block_marker(match: re.Match[str]) -> str:
    if match[2]:
        return f"{match[1]}\\{match[2]}"
    return f"{match[1]}{match[3]}\\{match[4]}"


def _link(label: str, url: str) -> str:
    url = safe_url(url)
    if not url:
        return escape(label)
    return f"[{escape(label)}](<{url.replace('>', '%3E').replace(' ', '%20')}>)"


def render(report: Report) -> str:
    """The report as GitHub-flavoured Markdown."""
    if report.events is None or report.log is None:
        return _table_only(report)
    log = report.log
    lines = [f"# {escape(report.title)}", "", escape(subtitle(report)), ""]
    if not report.events:
        return "\n".join(lines)
    lines += ["| Date | Event | Actors | Sources |", "| --- | --- | --- | --- |"]
    for event in report.events:
        links = source_links(event, log)
        numbered = " ".join(_link(str(number), link.url) for number, link in enumerate(links, 1))
        cells = [
            escape(date_label(event.date, event.end)),
            escape(event.title),
            escape(", ".join(log.event_actors(event))),
            numbered,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    for event in report.events:
        lines += ["", *_section(event, report)]
    return "\n".join(lines) + "\n"


def _section(event, report: Report) -> list[str]:
    log = report.log
    lines = [f"## {escape(date_label(event.date, event.end))} · {escape(event.title)}", ""]
    facts = [value for value in (event.type, event.status, event.location) if value]
    details = []
    if facts:
        details.append("*" + escape(" · ".join(facts)) + "*")
    if event.actors:
        details.append("**Actors:** " + escape(", ".join(log.event_actors(event))))
    if event.tags:
        details.append("**Tags:** " + escape(", ".join(event.tags)))
    details.append("**Id:** `" + event.id.replace("`", "") + "`")
    lines += ["  \n".join(details), ""]
    if event.summary:
        lines += [escape(event.summary.strip()), ""]
    for quote in event.quotes:
        lines += [f"> “{escape(quote['text'])}”", ">", f"> — {escape(quote['by'] or 'unattributed')}", ""]
    if event.claims:
        lines += ["**Claims**", ""]
        lines += [
            f"- {escape(claim['by'] + ': ' if claim['by'] else '')}{escape(claim['text'])}" for claim in event.claims
        ]
        lines.append("")
    links = source_links(event, log)
    if links:
        lines += ["**Sources**", ""]
        lines += [f"{number}. {_link(link.label, link.url)}" for number, link in enumerate(links, 1)]
        lines.append("")
    if event.related:
        others = {related_id: log.event_by_id(related_id) for related_id in event.related}
        related = [
            f"{escape(related_id)} ({escape(other.title if other is not None else '?')})"
            for related_id, other in others.items()
        ]
        lines += ["**Related:** " + "; ".join(related), ""]
    return lines[:-1]


def _table_only(report: Report) -> str:
    columns = list(report.columns)
    lines = [f"# {escape(report.title)}", ""] if report.title else []
    lines += ["| " + " | ".join(escape(column) for column in columns) + " |", "|" + " --- |" * len(columns)]
    for record in report.display_records:
        lines.append("| " + " | ".join(escape(cell_text(record.get(column))) for column in columns) + " |")
    return "\n".join(lines) + "\n"
