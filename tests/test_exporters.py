"""Each export is checked by the program that consumes it, plus golden files for the stable formats.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended change.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import textwrap
from datetime import date, datetime
from pathlib import Path

import icalendar
import pytest
from markdown_it import MarkdownIt

from tracker.formats import event_report, render
from tracker.index import load_log
from tracker.query import select_events

GOLDEN = Path(__file__).resolve().parent / "golden"
GENERATED = datetime(2026, 11, 27, 12, 0, 0)

EXPORT_LOG = textwrap.dedent(
    """\
    title: Test timeline
    actors:
      - name: Kim Yo Jong
        aliases: [Kim Yo-jong]
      - name: Kishida Fumio
        aliases: [Kishida]
    sources:
      - id: diplomat
        title: How Likely Is a Japan-North Korea Summit?
        publisher: The Diplomat
        url: https://example.org/diplomat
    events:
      - id: 1970-abductions
        date: 1970
        end: 1989
        title: Abductions of Japanese citizens
        type: abduction
        sources: [diplomat]
        claims:
          - by: Ministry of Foreign Affairs of Japan
            text: 17 citizens were abducted.
      - id: 2024-02-approval
        date: 2024-02
        title: "Approval falls to 20.1% & more_stuff {x} $5 #1 ~ ^"
        actors: [Kishida]
        type: poll
        sources: [diplomat]
      - id: 2024-03-approximate
        date: 2024-03~
        title: Approximate talks
        type: statement
        sources: ["https://example.org/a?b=1&c=2"]
      - id: 2024-03-25-statement
        date: 2024-03-25?
        title: "<script>alert('x')</script> *Kim* [rejects] | summit"
        summary: She says **no**.
        actors: [Kim Yo-jong, Kishida]
        type: statement
        status: confirmed
        location: Pyongyang
        sources: [diplomat, {publisher: Evil, url: "javascript:alert(1)", title: Bad link}]
        quotes:
          - by: Kim Yo Jong
            text: bid for popularity
        related: [2024-02-approval]
      - id: 2024-04-02-launch
        date: 2024-04-02T06:53+09:00
        title: Missile launch
        type: missile-test
        status: reported
      - id: 2024-04-08-visit
        date: 2024-04-08
        end: 2024-04-14
        title: State visit
        type: visit
        location: Washington, D.C.
    """
)


@pytest.fixture(scope="module")
def export_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "events.yaml"
    path.write_text(EXPORT_LOG, encoding="utf-8")
    return load_log(path)


def export(log, name: str, **filters) -> str:
    events = select_events(log, **filters).events
    report = event_report(events, log, title=log.data["title"], scope="", generated=GENERATED)
    report.columns = ["date", "title", "actors"]
    return render(name, report)


@pytest.mark.parametrize(
    ("name", "suffix"), [("markdown", "md"), ("latex", "tex"), ("timelinejs", "json"), ("ics", "ics"), ("html", "html")]
)
def test_golden(export_log, name, suffix):
    text = export(export_log, name)
    golden = GOLDEN / f"export.{suffix}"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_bytes(text.encode("utf-8"))
    assert text == golden.read_bytes().decode("utf-8")


# --- markdown ----------------------------------------------------------------


def test_markdown_renders_to_the_expected_table_and_sections(export_log):
    html = MarkdownIt("commonmark").enable("table").render(export(export_log, "markdown"))
    table = html.split("<table>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.DOTALL)
    assert len(rows) == 1 + 6
    header = re.findall(r"<th>(.*?)</th>", rows[0])
    assert header == ["Date", "Event", "Actors", "Sources"]
    cells = [re.findall(r"<td>(.*?)</td>", row, flags=re.DOTALL) for row in rows[1:]]
    assert all(len(row) == 4 for row in cells)
    assert cells[0][0] == "1970 – 1989"
    assert cells[3][1] == "&lt;script&gt;alert('x')&lt;/script&gt; *Kim* [rejects] | summit"
    assert cells[3][2] == "Kim Yo Jong, Kishida Fumio"
    assert cells[3][3] == '<a href="https://example.org/diplomat">1</a> 2'
    assert "<script>" not in html
    assert html.count("<h2>") == 6
    assert '<a href="https://example.org/diplomat">How Likely Is a Japan-North Korea Summit? (The Diplomat)</a>' in html
    assert "<blockquote>\n<p>“bid for popularity”</p>\n<p>— Kim Yo Jong</p>\n</blockquote>" in html


def test_markdown_states_what_it_covers(export_log):
    events = select_events(export_log, actors=["Kishida"]).events
    report = event_report(events, export_log, title="Briefing", scope="actor Kishida Fumio", generated=GENERATED)
    text = render("markdown", report)
    assert text.startswith("# Briefing\n\n2 events · 2024-02 – 2024-03-25? · actor Kishida Fumio\n")


# --- iCalendar -----------------------------------------------------------------


def _calendar(export_log) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(export(export_log, "ics"))
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_ics_parses_and_has_the_right_spans(export_log):
    events = _calendar(export_log)
    assert set(events) == {
        "1970-abductions@tracker",
        "2024-02-approval@tracker",
        "2024-03-approximate@tracker",
        "2024-03-25-statement@tracker",
        "2024-04-02-launch@tracker",
        "2024-04-08-visit@tracker",
    }
    spans = {uid: (event.decoded("DTSTART"), event.decoded("DTEND", None)) for uid, event in events.items()}
    assert spans["1970-abductions@tracker"] == (date(1970, 1, 1), date(1990, 1, 1))
    assert spans["2024-02-approval@tracker"] == (date(2024, 2, 1), date(2024, 3, 1))
    assert spans["2024-03-approximate@tracker"] == (date(2024, 3, 1), date(2024, 4, 1))
    assert spans["2024-03-25-statement@tracker"] == (date(2024, 3, 25), date(2024, 3, 26))
    assert spans["2024-04-08-visit@tracker"] == (date(2024, 4, 8), date(2024, 4, 15))
    launch = spans["2024-04-02-launch@tracker"][0]
    assert launch.isoformat() == "2024-04-01T21:53:00+00:00"
    assert str(events["2024-02-approval@tracker"]["SUMMARY"]).endswith("[2024-02]")
    assert str(events["2024-03-approximate@tracker"]["SUMMARY"]) == "Approximate talks [c. 2024-03]"
    assert str(events["2024-04-08-visit@tracker"]["SUMMARY"]) == "State visit"
    statement = events["2024-03-25-statement@tracker"]
    assert str(statement["URL"]) == "https://example.org/diplomat"
    assert "“bid for popularity” — Kim Yo Jong" in str(statement["DESCRIPTION"])
    assert str(statement["STATUS"]) == "CONFIRMED"


def test_ics_uids_are_stable_across_exports(export_log):
    first = icalendar.Calendar.from_ical(export(export_log, "ics"))
    second = icalendar.Calendar.from_ical(export(export_log, "ics", since=None))
    assert [str(e["UID"]) for e in first.walk("VEVENT")] == [str(e["UID"]) for e in second.walk("VEVENT")]


# --- TimelineJS --------------------------------------------------------------

DATE_PARTS = {"year", "month", "day", "hour", "minute", "second", "millisecond", "display_date"}


def _check_date(value: dict) -> None:
    assert set(value) <= DATE_PARTS
    assert isinstance(value["year"], int)
    for part, low, high in (("month", 1, 12), ("day", 1, 31), ("hour", 0, 23), ("minute", 0, 59), ("second", 0, 59)):
        if part in value:
            assert isinstance(value[part], int) and low <= value[part] <= high, (part, value)
    if "day" in value:
        assert "month" in value


def test_timelinejs_follows_timelinejs3_field_rules(export_log):
    data = json.loads(export(export_log, "timelinejs"))
    assert set(data) <= {"events", "title", "eras", "scale"}
    assert data["title"]["text"]["headline"] == "Test timeline"
    ids = [slide["unique_id"] for slide in data["events"]]
    assert len(ids) == len(set(ids)) == 6
    for slide in data["events"]:
        assert set(slide) <= {
            "start_date",
            "end_date",
            "text",
            "media",
            "group",
            "display_date",
            "background",
            "autolink",
            "unique_id",
        }
        _check_date(slide["start_date"])
        if "end_date" in slide:
            _check_date(slide["end_date"])
        assert slide["text"]["headline"]
    by_id = {slide["unique_id"]: slide for slide in data["events"]}
    assert by_id["2024-02-approval"]["start_date"] == {"year": 2024, "month": 2}
    assert by_id["2024-02-approval"]["display_date"] == "February 2024"
    assert by_id["2024-03-approximate"]["display_date"] == "c. March 2024"
    assert by_id["2024-03-25-statement"]["display_date"] == "25 March 2024?"
    assert by_id["1970-abductions"]["end_date"] == {"year": 1989, "month": 12, "day": 31}
    assert by_id["1970-abductions"]["display_date"] == "1970 – 1989"
    assert by_id["2024-04-02-launch"]["start_date"] == {"year": 2024, "month": 4, "day": 2, "hour": 6, "minute": 53}
    assert "display_date" not in by_id["2024-04-08-visit"] or by_id["2024-04-08-visit"]["display_date"]
    assert by_id["2024-03-25-statement"]["group"] == "statement"
    assert "&lt;script&gt;" in by_id["2024-03-25-statement"]["text"]["headline"]
    assert "javascript:" not in json.dumps(data)


# --- LaTeX -------------------------------------------------------------------


def test_latex_escapes_special_characters(export_log):
    text = export(export_log, "latex", types=["poll"])
    row = next(line for line in text.splitlines() if line.startswith("2024-02"))
    assert (
        row
        == r"2024-02 & Approval falls to 20.1\% \& more\_stuff \{x\} \$5 \#1 \textasciitilde{} \textasciicircum{} & Kishida Fumio \\"
    )
    assert text.count(r"\begin{longtable}") == text.count(r"\end{longtable}") == 1


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_fragment_compiles(export_log, tmp_path):
    document = "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{longtable}\n\\begin{document}\n"
    document += export(export_log, "latex") + "\\end{document}\n"
    (tmp_path / "doc.tex").write_text(document, encoding="utf-8")
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-2000:]


# --- HTML in a real browser ----------------------------------------------------


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip("Chromium is not installed (CI installs it)")
    return found


def _browser(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
    ]  # fmt: skip
    return subprocess.run([_chromium(), *flags, *args], capture_output=True, text=True, timeout=120)


def test_html_page_in_headless_chromium(export_log, tmp_path):
    page = tmp_path / "timeline.html"
    page.write_text(export(export_log, "html"), encoding="utf-8")
    dom = _browser(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    articles = re.findall(r'<article class="([^"]*)"', dom.stdout)
    assert len(articles) == 6
    assert sum("range" in classes for classes in articles) == 2
    assert sum("precision-month" in classes for classes in articles) == 2
    assert sum("approximate" in classes for classes in articles) == 1
    assert sum("uncertain" in classes for classes in articles) == 1
    assert "<script" not in dom.stdout.lower()
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in dom.stdout
    assert 'href="javascript:' not in dom.stdout
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line or "Refused to" in line]
    assert console == []
    shot = tmp_path / "timeline.png"
    result = _browser(tmp_path, "--window-size=1000,1600", f"--screenshot={shot}", page.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000


def test_html_is_self_contained(export_log):
    text = export(export_log, "html")
    assert "<script" not in text.lower()
    assert not re.search(r'(src|href)="(?!#|https://example\.org)', text)
    assert "@import" not in text and "url(" not in text
    assert "@media print" in text


# --- details found by trying the exports --------------------------------------------


def _log_from(tmp_path, text: str):
    path = tmp_path / "log.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_log(path)


def test_html_keeps_line_breaks_of_a_literal_summary(tmp_path):
    log = _log_from(tmp_path, "- id: a\n  date: 2024\n  title: T\n  summary: |\n    line one\n    line two\n")
    html = render("html", event_report(log.events, log, generated=GENERATED))
    assert '<p class="summary">line one<br>line two</p>' in html


def test_html_type_colours_do_not_change_with_the_filter(export_log):
    full = export(export_log, "html")
    filtered = export(export_log, "html", types=["poll"])
    colour = re.search(r'id="event-2024-02-approval"[^>]*--type-colour:(#[0-9a-f]+)', full)[1]
    assert re.search(r'id="event-2024-02-approval"[^>]*--type-colour:(#[0-9a-f]+)', filtered)[1] == colour
    assert colour != "#7f7f7f"


def test_latex_rows_cannot_start_an_option_and_dashes_stay_hyphens(tmp_path):
    log = _log_from(tmp_path, "- {id: a, date: 2024, title: '[Update] a--b'}\n- {id: b, date: 2025, title: '*Star'}\n")
    report = event_report(log.events, log, columns=["title", "date"], generated=GENERATED)
    rows = [line for line in render("latex", report).splitlines() if line.endswith("\\\\") and "textbf" not in line]
    assert rows == [r"{}[Update] a-{}-b & 2024 \\", r"{}*Star & 2025 \\"]


def test_ics_has_no_raw_control_characters(tmp_path):
    log = _log_from(tmp_path, '- {id: a, date: 2024-01-01, title: "Bell \\a and \\e[31m escape"}\n')
    text = render("ics", event_report(log.events, log, generated=GENERATED))
    assert "\x07" not in text and "\x1b" not in text
    event = icalendar.Calendar.from_ical(text).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == "Bell \\x07 and \\x1b[31m escape"


def test_csv_cells_with_carriage_returns_stay_in_one_row(tmp_path):
    import csv
    import io

    log = _log_from(tmp_path, '- {id: a, date: 2024, title: T, summary: "\\rstarts with CR\\nand a newline"}\n')
    text = render("csv", event_report(log.events, log, columns=["id", "summary"], raw=True, generated=GENERATED))
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["id", "summary"], ["a", "\rstarts with CR\nand a newline"]]


def test_markdown_escapes_a_leading_number_the_commonmark_way(tmp_path):
    log = _log_from(tmp_path, "- {id: a, date: 2024, title: '1. First point', summary: '2) second'}\n")
    text = render("markdown", event_report(log.events, log, generated=GENERATED))
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<td>1. First point</td>" in html
    assert "<p>2) second</p>" in html


def test_yaml_export_is_a_log_with_its_registries(export_log, tmp_path):
    events = select_events(export_log).events
    path = tmp_path / "copy.yaml"
    path.write_text(render("yaml", event_report(events, export_log, generated=GENERATED)), encoding="utf-8")
    copy = load_log(path)
    assert copy.data["title"] == "Test timeline"
    assert [actor.name for actor in copy.actors] == ["Kim Yo Jong", "Kishida Fumio"]
    assert [source.id for source in copy.sources] == ["diplomat"]
    assert [event.fields for event in copy.events] == [event.fields for event in export_log.events]
