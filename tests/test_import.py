"""import: every format, foreign headers, duplicates, id clashes, one bad row, and round trips."""

from __future__ import annotations

import json
import textwrap

import pytest

from .conftest import SAMPLE_LOG

TARGET = "actors:\n  - name: Kim Yo Jong\n    aliases: [Kim Yo-jong]\n  - name: Kishida Fumio\n    aliases: [Kishida]\n  - name: KCNA\nsources:\n  - id: diplomat\n    title: T\nevents:\n"


@pytest.fixture
def target(tmp_path, monkeypatch):
    path = tmp_path / "events.yaml"
    path.write_text(TARGET, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return path


@pytest.fixture
def full(tmp_path):
    path = tmp_path / "full.yaml"
    path.write_text(SAMPLE_LOG, encoding="utf-8")
    return path


def _events(invoke, path) -> list[dict]:
    return json.loads(invoke("list", "-f", str(path), "-F", "json").stdout)


@pytest.mark.parametrize("name", ["json", "jsonl", "yaml", "csv"])
def test_export_then_import_gives_back_the_same_events(invoke, full, target, tmp_path, name):
    exported = tmp_path / f"out.{name}"
    assert invoke("export", "-f", str(full), "-F", name, "--raw", "-o", str(exported)).exit_code == 0
    result = invoke("import", str(exported))
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [event["id"] for event in _events(invoke, full)]
    assert _events(invoke, target) == _events(invoke, full)
    assert invoke("check").exit_code == 0


def test_import_from_stdin(invoke, full, target):
    jsonl = invoke("list", "-f", str(full), "-F", "jsonl", "--type", "poll").stdout
    result = invoke("import", "-", input=jsonl)
    assert result.exit_code == 0, result.output
    assert result.stdout == "2024-02-approval\n"
    assert result.stderr == "tracker: imported 1 event from <stdin> (jsonl)\n"


def test_import_appends_in_one_write_after_the_existing_events(invoke, target, tmp_path):
    assert invoke("add", "Existing", "--date", "2024-01-01").exit_code == 0
    source = tmp_path / "new.json"
    source.write_text(
        json.dumps([{"date": "2024-02-01", "title": "One"}, {"date": "2024-02", "title": "Two", "tags": "x"}])
    )
    result = invoke("import", str(source))
    assert result.exit_code == 0, result.output
    assert result.stdout == "2024-02-01-one\n2024-02-two\n"
    assert target.read_text() == TARGET + (
        "  - id: 2024-01-01-existing\n    date: 2024-01-01\n    title: Existing\n"
        "  - id: 2024-02-01-one\n    date: 2024-02-01\n    title: One\n"
        "  - id: 2024-02-two\n    date: 2024-02\n    title: Two\n    tags: [x]\n"
    )


def test_one_bad_row_aborts_naming_its_row_and_leaves_the_log(invoke, target, tmp_path):
    source = tmp_path / "rows.csv"
    source.write_text("date,title\n2024-01-01,Fine\n2024-02-30,Impossible\n2024-03-01,Also fine\n")
    result = invoke("import", str(source))
    assert result.exit_code == 1
    assert result.stderr == (
        f"{source}: row 3: impossible date '2024-02-30': February 2024 has 29 days; nothing was imported\n"
    )
    assert target.read_text() == TARGET


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ('[{"date": "2024"}]', "record 1: no title"),
        ('[{"title": "x"}]', "record 1: no date"),
        ('[{"date": "03/04/2024", "title": "x"}]', "record 1: ambiguous date '03/04/2024'"),
        ('[{"date": "2024", "title": "x", "status": "rumour"}]', "record 1: unknown status 'rumour'"),
        ('[{"date": "2024", "title": "x"}, 7]', "record 2: expected an object"),
        ('[{"date": "2024", "title": "a\\nb"}]', "record 1: the title must be one line"),
    ],
)
def test_bad_records(invoke, target, tmp_path, rows, message):
    source = tmp_path / "rows.json"
    source.write_text(rows)
    result = invoke("import", str(source))
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert target.read_text() == TARGET


def test_invalid_json_names_line_and_column(invoke, target, tmp_path):
    source = tmp_path / "broken.json"
    source.write_text('[{"date": "2024",\n  "title": }]')
    result = invoke("import", str(source))
    assert result.exit_code == 1
    assert result.stderr == f"{source}:2:12: invalid JSON: Expecting value\n"


def test_an_id_that_clashes_aborts_naming_both(invoke, target, tmp_path):
    invoke("add", "Existing", "--date", "2024-01-01", "--id", "taken")
    source = tmp_path / "rows.jsonl"
    source.write_text(
        '{"id": "free", "date": "2024-05", "title": "A"}\n{"id": "taken", "date": "2024-06", "title": "B"}\n'
    )
    result = invoke("import", str(source))
    assert result.exit_code == 1
    assert (
        result.stderr == f"{source}: line 2: id 'taken' is already used by an event in the log; nothing was imported\n"
    )


def test_duplicates_are_skipped_and_reported_unless_allowed(invoke, target, tmp_path):
    invoke("add", "Kishida speaks", "--date", "2024-04-11")
    source = tmp_path / "rows.csv"
    source.write_text("date,title\n2024-04-11,kishida speaks\n2024-04-12,New\n")
    result = invoke("import", str(source))
    assert result.exit_code == 0
    assert result.stdout == "2024-04-12-new\n"
    assert result.stderr.startswith(
        f"tracker: warning: {source}: row 2: skipped, same date and title as 2024-04-11-kishida-speaks"
    )
    again = invoke("import", str(source), "--allow-duplicates")
    assert again.stdout == "2024-04-11-kishida-speaks-2\n2024-04-12-new-2\n"


def test_dry_run_shows_the_yaml_and_writes_nothing(invoke, target, tmp_path):
    source = tmp_path / "rows.json"
    source.write_text('[{"date": "2024-05-01", "title": "Draft"}]')
    result = invoke("import", str(source), "--dry-run")
    assert result.exit_code == 0
    assert result.stdout == "  - id: 2024-05-01-draft\n    date: 2024-05-01\n    title: Draft\n"
    assert result.stderr == f"tracker: would import 1 event from {source} (json)\n"
    assert target.read_text() == TARGET


def test_timelinejs_spreadsheet_columns_with_map(invoke, target, tmp_path):
    source = tmp_path / "timeline.csv"
    source.write_text(
        textwrap.dedent(
            """\
            Year,Month,Day,Time,End Year,End Month,End Day,Headline,Text,Media,Group
            2024,4,2,,,,,Missile test,An IRBM with a hypersonic warhead.,http://x/img.png,missile-test
            2024,4,8,,2024,4,14,State visit,Kishida in Washington.,,visit
            2024,2,,,,,,Approval at 20.1 percent,,,poll
            """
        )
    )
    maps = ["Year=year", "Month=month", "Day=day", "End Year=end_year", "End Month=end_month", "End Day=end_day",
            "Headline=title", "Text=summary", "Group=type"]  # fmt: skip
    result = invoke("import", str(source), *[arg for pair in maps for arg in ("--map", pair)])
    assert result.exit_code == 0, result.output
    events = {event["title"]: event for event in _events(invoke, target)}
    assert events["Missile test"] == {
        "id": "2024-04-02-missile-test", "date": "2024-04-02", "title": "Missile test",
        "summary": "An IRBM with a hypersonic warhead.", "type": "missile-test",
    }  # fmt: skip
    assert events["State visit"]["end"] == "2024-04-14"
    assert events["Approval at 20.1 percent"]["date"] == "2024-02"


def test_acled_style_columns_with_map(invoke, target, tmp_path):
    source = tmp_path / "acled.csv"
    source.write_text(
        "event_id_cnty,event_date,event_type,sub_event_type,actor1,actor2,country,notes,source,fatalities\n"
        "PRK123,02 April 2024,Strategic developments,Weapons test,Military Forces of North Korea,,North Korea,"
        "North Korea launched an IRBM.,Yonhap,0\n"
    )
    result = invoke(
        "import", str(source), "--map", "event_date=date", "--map", "sub_event_type=title", "--map", "actor1=actors",
        "--map", "actor2=actors", "--map", "notes=summary", "--map", "event_type=type",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert _events(invoke, target) == [
        {
            "id": "2024-04-02-weapons-test",
            "date": "2024-04-02",
            "title": "Weapons test",
            "type": "Strategic developments",
            "actors": ["Military Forces of North Korea"],
            "summary": "North Korea launched an IRBM.",
        }
    ]


def test_import_our_timelinejs_export(invoke, full, target, tmp_path):
    exported = tmp_path / "tl.json"
    invoke("export", "-f", str(full), "-F", "timelinejs", "-o", str(exported))
    result = invoke("import", str(exported))
    assert result.exit_code == 0, result.output
    assert result.stderr.endswith("(timelinejs)\n")
    events = {event["id"]: event for event in _events(invoke, target)}
    assert events["1970-abductions"]["date"] == "1970" and events["1970-abductions"]["end"] == "1989-12-31"
    assert events["2024-02-approval"]["date"] == "2024-02"
    assert events["2024-03-25-kim-yo-jong-rejects"]["title"] == "Kim Yo Jong rejects summit terms"
    assert events["2024-03-25-kim-yo-jong-rejects"]["type"] == "statement"


def test_unknown_from_and_missing_file_are_usage_errors(invoke, target):
    assert invoke("import", "nope.csv").exit_code == 2
    result = invoke("import", "x.json", "--from", "xml")
    assert result.exit_code == 2
    assert result.stderr == "tracker: --from: 'xml' is not one of yaml, json, jsonl, csv, tsv, timelinejs\n"


def test_csv_on_stdin_is_recognised(invoke, target):
    result = invoke("import", "-", input="date,title\n2024-05-01,From a pipe\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "2024-05-01-from-a-pipe\n"
    assert result.stderr.endswith("(csv)\n")


def test_tsv_export_imports_back(invoke, full, target, tmp_path):
    exported = tmp_path / "out.tsv"
    assert invoke("export", "-f", str(full), "-o", str(exported), "--raw").exit_code == 0
    assert invoke("import", str(exported)).exit_code == 0
    assert _events(invoke, target) == _events(invoke, full)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.yaml", "a: 1\n", "holds no events"),
        ("rows.csv", "date,title\n2024-05-01,X,extra\n", "row 2: more cells than the header has columns"),
        ("rows.csv", "id,date,title\nBad Id,2024,X\n", "row 2: the id 'Bad Id' must be one word without spaces"),
        (
            "rows.json",
            '[{"date": "2024", "title": "x", "tags": ["a", ["b"]]}]',
            "record 1: 'tags' must be a list of text",
        ),
    ],
)
def test_more_bad_input(invoke, target, tmp_path, name, content, message):
    source = tmp_path / name
    source.write_text(content)
    result = invoke("import", str(source))
    assert result.exit_code == 1
    assert message in result.stderr
    assert target.read_text() == TARGET


def test_map_to_an_unknown_field_is_refused(invoke, target, tmp_path):
    source = tmp_path / "rows.csv"
    source.write_text("When,Text\n2024,x\n")
    result = invoke("import", str(source), "--map", "When=date", "--map", "Text=summmary")
    assert result.exit_code == 2
    assert result.stderr.startswith("tracker: --map: 'summmary' is not a field")


def test_with_map_only_mapped_columns_are_read_and_one_day_ends_are_dropped(invoke, target, tmp_path):
    source = tmp_path / "sheet.csv"
    source.write_text(
        "Year,Month,Day,End Year,End Month,End Day,Headline,tags\n2024,5,3,2024,5,3,One day,crowd size=no report\n"
    )
    maps = [
        "Year=year",
        "Month=month",
        "Day=day",
        "End Year=end_year",
        "End Month=end_month",
        "End Day=end_day",
        "Headline=title",
    ]
    result = invoke("import", str(source), *[arg for pair in maps for arg in ("--map", pair)])
    assert result.exit_code == 0, result.output
    assert _events(invoke, target) == [{"id": "2024-05-03-one-day", "date": "2024-05-03", "title": "One day"}]


def test_a_csv_with_an_unterminated_quote_is_refused(invoke, target, tmp_path):
    source = tmp_path / "rows.csv"
    source.write_text('date,title\n2024-01-01,"unterminated\n')
    result = invoke("import", str(source))
    assert result.exit_code == 1
    assert "invalid CSV" in result.stderr
    assert target.read_text() == TARGET


def test_jsonl_errors_name_line_and_column(invoke, target, tmp_path):
    source = tmp_path / "rows.jsonl"
    source.write_text('{"date": "2024", "title": "ok"}\n{"date": "2024"\n')
    result = invoke("import", str(source))
    assert result.exit_code == 1
    assert result.stderr == f"{source}:2:16: invalid JSON: Expecting ',' delimiter\n"


def test_map_targets_are_checked_for_json_too(invoke, target, tmp_path):
    source = tmp_path / "rows.json"
    source.write_text('[{"a": "2024", "title": "x"}]')
    result = invoke("import", str(source), "--map", "a=nofield")
    assert result.exit_code == 2
    assert result.stderr.startswith("tracker: --map: 'nofield' is not a field")
