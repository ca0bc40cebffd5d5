from __future__ import annotations

import csv
import io
import json

import pytest
import tabulate

from tracker.formats import (
    FORMATS,
    OVERRIDDEN_TABULATE_FORMATS,
    TABULATE_FORMATS,
    Report,
    bar,
    cell_text,
    escape_controls,
    fit_to_width,
    guard_formula,
    render,
    unguard_formula,
)

RECORDS = [
    {"date": "2024-03-25", "id": "a", "title": "Kim says \x1b]0;owned\x07 no", "actors": ["Kim Yo Jong", "KCNA"]},
    {"date": "2002", "id": "b", "title": "1e3", "quotes": [{"by": "Biden", "text": 'a, "b"\nc'}]},
]


def test_tabulate_format_list_matches_the_installed_tabulate():
    assert set(TABULATE_FORMATS) == set(tabulate.tabulate_formats)


def test_registry_holds_table_csv_tsv_json_jsonl_and_every_tabulate_format():
    assert {"table", "csv", "tsv", "json", "jsonl", "yaml"} | set(tabulate.tabulate_formats) <= set(FORMATS)
    assert {"markdown", "html", "latex", "ics", "timelinejs"} <= set(FORMATS)
    assert {"html", "latex"} == OVERRIDDEN_TABULATE_FORMATS


def table(name: str, records=RECORDS, columns=("date", "id", "title", "actors"), raw: bool = False) -> str:
    return render(name, Report(records=records, columns=list(columns), raw=raw))


@pytest.mark.parametrize("name", sorted(name for name, entry in FORMATS.items() if not entry.events_only))
def test_every_table_format_renders_every_record(name):
    text = table(name)
    assert text.endswith("\n")
    assert "2024-03-25" in text and "2002" in text


@pytest.mark.parametrize("name", ["table", "github", "psql", "plain", "grid"])
def test_tables_escape_control_characters(name):
    text = table(name, columns=["title"])
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;owned\\x07" in text


def test_table_keeps_numeric_looking_text_as_written():
    assert "1e3" in table("table", columns=["title"])
    assert "1000" not in table("table", columns=["title"])


def test_csv_reads_back_with_the_header_and_exact_values():
    text = table("csv", columns=["date", "id", "title", "actors", "quotes"])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["title"] == "Kim says \x1b]0;owned\x07 no"
    assert rows[0]["actors"] == "Kim Yo Jong; KCNA"
    assert json.loads(rows[1]["quotes"]) == [{"by": "Biden", "text": 'a, "b"\nc'}]


def test_tsv_reads_back():
    text = table("tsv", columns=["id", "title"])
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    assert rows == [["id", "title"], ["a", "Kim says \x1b]0;owned\x07 no"], ["b", "1e3"]]


def test_json_and_jsonl_carry_values_exactly():
    assert json.loads(table("json", columns=[])) == RECORDS
    assert [json.loads(line) for line in table("jsonl", columns=[]).splitlines()] == RECORDS
    assert json.loads(table("json", columns=["id"])) == [{"id": "a"}, {"id": "b"}]


def test_escape_controls():
    assert escape_controls("plain") == "plain"
    assert escape_controls("a\x1b[2Jb\tc\u202ed") == "a\\x1b[2Jb\\tc\\u202ed"
    assert escape_controls("one\ntwo", keep_newlines=True) == "one\ntwo"


def test_cell_text():
    assert cell_text(["a", "b"]) == "a, b"
    assert cell_text([{"by": "X", "text": "y"}, {"by": "", "text": "z"}]) == "X: y; z"
    assert cell_text([{"url": "https://e.org", "publisher": "E"}]) == "https://e.org"
    assert cell_text(None) == ""


def test_fit_to_width_shortens_the_widest_columns_first():
    records = [{"date": "2024-03-25", "title": "T" * 60, "actors": "A" * 30}]
    fitted = fit_to_width(records, ["date", "title", "actors"], 60)
    assert fitted == [{"date": "2024-03-25", "title": "T" * 22 + "…", "actors": "A" * 22 + "…"}]
    text = table("table", fitted, ["date", "title", "actors"])
    assert max(len(line) for line in text.splitlines()) == 60


def test_fit_to_width_never_cuts_ids():
    records = [{"id": "i" * 50, "title": "T" * 50}]
    assert fit_to_width(records, ["id", "title"], 40) == [{"id": "i" * 50, "title": "T" * 11 + "…"}]


def test_fit_to_width_leaves_a_table_that_fits_alone():
    records = [{"date": "2024", "title": "Short"}]
    assert fit_to_width(records, ["date", "title"], 80) == records


INJECTION = [{"id": "a", "title": '=HYPERLINK("http://evil")', "actors": ["+1", "@me", "-x", "\tTab", "ok"]}]


@pytest.mark.parametrize("name", ["csv", "tsv"])
def test_csv_cells_that_a_spreadsheet_would_run_get_a_quote_and_raw_turns_it_off(name):
    delimiter = "," if name == "csv" else "\t"
    guarded = list(csv.DictReader(io.StringIO(table(name, INJECTION, ["id", "title", "actors"])), delimiter=delimiter))
    assert guarded[0]["title"] == '\'=HYPERLINK("http://evil")'
    assert guarded[0]["actors"] == "'+1; @me; -x; \tTab; ok"
    raw = list(
        csv.DictReader(io.StringIO(table(name, INJECTION, ["id", "title", "actors"], raw=True)), delimiter=delimiter)
    )
    assert raw[0]["title"] == '=HYPERLINK("http://evil")'
    assert unguard_formula(guarded[0]["title"]) == raw[0]["title"]


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain", "'quoted", "'=kept"])
def test_guard_formula_is_reversible(text):
    assert unguard_formula(guard_formula(text)) == text
    assert not guard_formula(text).startswith(("=", "+", "-", "@", "\t", "\r"))


def test_bar_scales_to_the_largest_value_in_eighths():
    assert bar(10, 10, width=4) == "████"
    assert bar(1, 8, width=4) == "▌"
    assert bar(0, 8) == ""
