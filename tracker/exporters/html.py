"""One self-contained HTML page: a vertical timeline, no scripts, no network.

Every event sits on the line in date order under year markers. Exact days are
solid dots, month or year precision hollow rings, approximate dates dashed,
uncertain ones marked `?`, ranges a bar with both ends; types are colour-coded
with a legend. All text from the log is escaped, and only http(s) and mailto
links are kept.
"""

from __future__ import annotations

from html import escape as _escape

from tracker.dates import PartialDate, date_label
from tracker.exporters.common import safe_url, source_links, subtitle
from tracker.formats import Report, cell_text, escape_controls
from tracker.model import Event, Log

PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
)

STYLE = """
:root { --line: #c9ced6; --ink: #1d232b; --muted: #5b6470; --paper: #ffffff; --card: #f7f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 -apple-system, "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif;
  color: var(--ink); background: var(--paper); }
header, main, footer { max-width: 60rem; margin: 0 auto; padding: 0 1.25rem; }
header { padding-top: 2rem; }
h1 { margin: 0 0 .25rem; font-size: 1.8rem; }
.subtitle { margin: 0 0 1rem; color: var(--muted); }
.legend { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; padding: .75rem 0; margin: 0; list-style: none;
  border-top: 1px solid var(--line); border-bottom: 1px solid var(--line); font-size: .85rem; color: var(--muted); }
.legend li { display: flex; align-items: center; gap: .4rem; }
.swatch { display: inline-block; width: .9rem; height: .9rem; border-radius: 3px; }
.sample { position: relative; display: inline-block; width: 14px; height: 20px; --type-colour: #5b6470; }
.sample .marker { left: 0; top: 3px; }
.sample.range .marker { top: 0; height: 20px; min-height: 0; }
.sample.uncertain { margin-right: .7rem; }
.timeline { position: relative; padding: 1rem 1.25rem 2rem 3.5rem; }
.timeline::before { content: ""; position: absolute; top: 0; bottom: 0; left: 2rem; width: 3px;
  background: var(--line); }
.year-marker { position: relative; margin: 1.5rem 0 .75rem -3.5rem; padding-left: .25rem; font-size: 1.25rem; }
.year-marker span { background: var(--ink); color: #fff; padding: .1rem .6rem; border-radius: 1rem; }
.event { position: relative; margin: 0 0 1rem; padding: .75rem 1rem; background: var(--card);
  border-left: 4px solid var(--type-colour, #7f7f7f); border-radius: 0 6px 6px 0; }
.marker { position: absolute; left: -2.05rem; top: 1.05rem; width: 14px; height: 14px; border-radius: 50%;
  background: var(--type-colour, #7f7f7f); border: 3px solid var(--type-colour, #7f7f7f); }
.precision-month .marker, .precision-year .marker { background: var(--paper); }
.approximate .marker { border-style: dashed; background: var(--paper); }
.uncertain .marker::after { content: "?"; position: absolute; left: 16px; top: -6px; font-size: .8rem;
  font-weight: 700; color: var(--muted); }
.range .marker { border-radius: 7px; height: calc(100% - 1.5rem); min-height: 2.2rem; }
.when { font-weight: 600; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; margin-left: .35rem; padding: 0 .4rem; border: 1px solid var(--line);
  border-radius: 3px; font-size: .72rem; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.event h3 { margin: .15rem 0 .35rem; font-size: 1.05rem; }
.meta { margin: 0 0 .4rem; color: var(--muted); font-size: .85rem; }
.actors { display: flex; flex-wrap: wrap; gap: .3rem; margin: 0 0 .5rem; padding: 0; list-style: none; }
.chip { padding: .05rem .55rem; border-radius: 1rem; background: #e3e7ee; font-size: .8rem; }
.summary { margin: .25rem 0 .5rem; }
blockquote { margin: .5rem 0; padding: .25rem .75rem; border-left: 3px solid var(--line); color: #333; }
blockquote p { margin: 0; }
blockquote footer { padding: 0; color: var(--muted); font-size: .85rem; }
.claims { margin: .25rem 0 .5rem; padding-left: 1.2rem; font-size: .9rem; }
.sources { margin: .25rem 0 0; padding-left: 1.4rem; font-size: .85rem; }
.sources a { color: #0b5cad; word-break: break-word; }
.related { margin: .35rem 0 0; font-size: .8rem; color: var(--muted); }
footer.page { padding-bottom: 2rem; color: var(--muted); font-size: .8rem; }
table.records { border-collapse: collapse; margin: 1rem 0; }
table.records th, table.records td { border: 1px solid var(--line); padding: .3rem .6rem; text-align: left; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { font-size: 11pt; }
  .timeline::before { background: #999; }
  .event { background: none; border: 1px solid #bbb; border-left-width: 4px; break-inside: avoid; }
  .year-marker { break-after: avoid; }
  .sources a { color: inherit; }
  .sources a::after { content: " <" attr(href) ">"; font-size: 8pt; word-break: break-all; }
}
"""


def escape(text: str) -> str:
    """HTML-escaped text, control characters shown as escapes."""
    return _escape(escape_controls(text), quote=True)


def escape_lines(text: str) -> str:
    """HTML-escaped text whose line breaks become <br>."""
    return _escape(escape_controls(text, keep_newlines=True), quote=True).replace("\n", "<br>")


def render(report: Report) -> str:
    """The report as one self-contained HTML page."""
    title = escape(report.title)
    if report.events is None or report.log is None:
        body = _records_table(report)
        legend = ""
    else:
        colours = type_colours(report.events, report.log)
        legend = _legend(colours)
        body = _timeline(report.events, report.log, colours)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="generator" content="tracker">
<title>{title}</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p class="subtitle">{escape(subtitle(report)) if report.events is not None else ""}</p>
{legend}
</header>
{body}
<footer class="page"><p>Generated by tracker on {escape(report.generated.strftime("%Y-%m-%d %H:%M"))}.</p></footer>
</body>
</html>
"""


def type_colours(events: list[Event] | tuple[Event, ...], log: Log) -> dict[str, str]:
    """A colour for each type among `events`, the same in every export of the log (grey: no type).

    Colours follow the sorted types of the whole log, so a filter does not recolour a type.
    """
    every_type = sorted(set(log.used_types()))
    shown = dict.fromkeys(event.type for event in events)
    return {kind: PALETTE[every_type.index(kind) % len(PALETTE)] if kind in every_type else "#7f7f7f" for kind in shown}


def _legend(colours: dict[str, str]) -> str:
    items = [
        f'<li><span class="swatch" style="background:{colour}"></span>{escape(kind or "no type")}</li>'
        for kind, colour in colours.items()
    ]
    shapes = [
        ("precision-day", "exact day"),
        ("precision-month", "month or year only"),
        ("approximate", "approximate"),
        ("uncertain", "uncertain"),
        ("range", "range"),
    ]
    items += [
        f'<li><span class="sample {css}"><span class="marker"></span></span>{label}</li>' for css, label in shapes
    ]
    return '<ul class="legend" aria-label="Legend">' + "".join(items) + "</ul>"


def _timeline(events: list[Event] | tuple[Event, ...], log: Log, colours: dict[str, str]) -> str:
    parts = ['<main class="timeline">']
    exported = {event.id for event in events}
    year = None
    for event in events:
        if event.date.year != year:
            if year is not None:
                parts.append("</section>")
            year = event.date.year
            parts.append(f'<section class="year" id="year-{year:04d}">')
            parts.append(f'<h2 class="year-marker"><span>{year:04d}</span></h2>')
        parts.append(_event(event, log, colours, exported))
    if year is not None:
        parts.append("</section>")
    parts.append("</main>")
    return "\n".join(parts)


def _iso(date: PartialDate) -> str:
    return str(PartialDate(date.year, date.month, date.day, date.hour, date.minute, date.second, date.tz))


def _event(event: Event, log: Log, colours: dict[str, str], exported: set[str]) -> str:
    classes = ["event", f"precision-{'day' if event.date.precision in ('minute', 'second') else event.date.precision}"]
    badges = []
    if event.date.precision in ("month", "year"):
        badges.append(f"{event.date.precision} only")
    if event.date.qualifier in ("~", "%"):
        classes.append("approximate")
        badges.append("approximate")
    if event.date.qualifier in ("?", "%"):
        classes.append("uncertain")
        badges.append("uncertain")
    if event.end is not None:
        classes.append("range")
        badges.append("range")
    when = f'<time datetime="{_iso(event.date)}">{escape(date_label(event.date))}</time>'
    if event.end is not None:
        when += f' – <time datetime="{_iso(event.end)}">{escape(date_label(event.end))}</time>'
    html = [
        f'<article class="{" ".join(classes)}" id="event-{escape(event.id)}" '
        f'data-precision="{event.date.precision}" style="--type-colour:{colours.get(event.type, "#7f7f7f")}">',
        '<span class="marker" aria-hidden="true"></span>',
        f'<p class="when-line"><span class="when">{when}</span>'
        + "".join(f'<span class="badge">{escape(badge)}</span>' for badge in badges)
        + "</p>",
        f"<h3>{escape(event.title)}</h3>",
    ]
    meta = [value for value in (event.type, event.status, event.location) if value]
    if meta:
        html.append(f'<p class="meta">{" · ".join(escape(value) for value in meta)}</p>')
    actors = log.event_actors(event)
    if actors:
        html.append(
            '<ul class="actors">' + "".join(f'<li class="chip">{escape(name)}</li>' for name in actors) + "</ul>"
        )
    if event.summary:
        paragraphs = [paragraph for paragraph in event.summary.strip().split("\n\n") if paragraph.strip()]
        html += [f'<p class="summary">{escape_lines(paragraph.strip())}</p>' for paragraph in paragraphs]
    for quote in event.quotes:
        by = f"<footer>— {escape(quote['by'])}</footer>" if quote["by"] else ""
        html.append(f"<blockquote><p>“{escape(quote['text'])}”</p>{by}</blockquote>")
    if event.claims:
        claims = "".join(
            f"<li>{escape(claim['by'] + ': ' if claim['by'] else '')}{escape(claim['text'])}</li>"
            for claim in event.claims
        )
        html.append(f'<ul class="claims">{claims}</ul>')
    links = source_links(event, log)
    if links:
        items = []
        for link in links:
            url = safe_url(link.url)
            label = escape(link.label)
            items.append(
                f'<li><a href="{escape(url)}" rel="noopener noreferrer">{label}</a></li>'
                if url
                else f"<li>{label}</li>"
            )
        html.append('<ol class="sources">' + "".join(items) + "</ol>")
    if event.related:
        refs = [
            f'<a href="#event-{escape(related)}">{escape(related)}</a>' if related in exported else escape(related)
            for related in event.related
        ]
        html.append(f'<p class="related">Related: {", ".join(refs)}</p>')
    html.append("</article>")
    return "\n".join(html)


def _records_table(report: Report) -> str:
    columns = list(report.columns)
    head = "".join(f"<th>{escape(column)}</th>" for column in columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(cell_text(record.get(column)))}</td>" for column in columns) + "</tr>"
        for record in report.display_records
    )
    return f'<main><table class="records"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></main>'
