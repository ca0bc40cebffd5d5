from __future__ import annotations

import csv
import io
import json
import os
import stat

import icalendar
import pytest

from tracker.formats import FORMATS


@pytest.fixture
def in_log_folder(log_path, monkeypatch):
    monkeypatch.chdir(log_path.parent)
    return log_path


def test_export_to_stdout_uses_the_logs_heading_and_states_the_filters(invoke, in_log_folder):
    result = invoke("export", "-F", "markdown", "-a", "kishida", "--since", "2024-03")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "# Sample log for tests\n\n2 events · 2024-03-25 – 2024-04-11 · since 2024-03 · actor Kishida Fumio\n"
    )


def test_export_title_option(invoke, in_log_folder):
    assert invoke("export", "-F", "markdown", "--title", "Briefing").stdout.startswith("# Briefing\n")


def test_export_writes_a_file_and_guesses_the_format_from_its_extension(invoke, in_log_folder):
    target = in_log_folder.parent / "calendar.ics"
    result = invoke("export", "-o", str(target), "--on", "2024")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"tracker: wrote 4 events to {target} (ics)\n"
    calendar = icalendar.Calendar.from_ical(target.read_bytes())
    assert len(calendar.walk("VEVENT")) == 4


def test_export_never_replaces_a_file_without_force(invoke, in_log_folder):
    target = in_log_folder.parent / "report.md"
    target.write_text("keep me")
    os.chmod(target, 0o640)
    refused = invoke("export", "-o", str(target))
    assert refused.exit_code == 2
    assert refused.stderr == f"tracker: --output: {target} exists; use --force to replace it\n"
    assert target.read_text() == "keep me"
    replaced = invoke("export", "-o", str(target), "--force")
    assert replaced.exit_code == 0
    assert target.read_text().startswith("# Sample log for tests")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_export_refuses_an_unknown_extension_without_format(invoke, in_log_folder):
    result = invoke("export", "-o", "out.xyz")
    assert result.exit_code == 2
    assert result.stderr.startswith("tracker: --output: no format is known for '.xyz' (.csv, .htm, .html")
    assert not (in_log_folder.parent / "out.xyz").exists()


def test_export_help_lists_every_format(invoke):
    help_text = invoke("export", "--help").stdout
    for name in FORMATS:
        assert f"\n    {name} " in help_text, name


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_exports_the_bundled_style_log(invoke, in_log_folder, name):
    result = invoke("export", "-F", name)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()


def test_list_and_export_share_formats_and_csv_is_guarded(invoke, tmp_path):
    path = tmp_path / "log.yaml"
    path.write_text("- {id: a, date: 2024, title: '=cmd|calc', actors: ['+1']}\n")
    guarded = list(csv.DictReader(io.StringIO(invoke("list", "-f", str(path), "-F", "csv").stdout)))
    assert guarded[0]["title"] == "'=cmd|calc" and guarded[0]["actors"] == "'+1"
    raw = list(csv.DictReader(io.StringIO(invoke("export", "-f", str(path), "-F", "csv", "--raw").stdout)))
    assert raw[0]["title"] == "=cmd|calc"


def test_export_yaml_is_a_log_tracker_reads_back(invoke, in_log_folder, tmp_path):
    exported = tmp_path / "copy.yaml"
    assert invoke("export", "-o", str(exported)).exit_code == 0
    original = json.loads(invoke("list", "-F", "json").stdout)
    assert json.loads(invoke("list", "-f", str(exported), "-F", "json").stdout) == original


STATS_YEAR = """\
year    events
------  --------  ----------------------------------------
1970    1         ██████████
2024    4         ████████████████████████████████████████
"""


def test_stats_by_year_draws_bars(invoke, in_log_folder):
    result = invoke("stats")
    assert result.exit_code == 0, result.output
    assert result.stdout == STATS_YEAR


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("month", [["1970 (no month)", "1"], ["2024-02", "2"], ["2024-03", "1"], ["2024-04", "1"]]),
        ("actor", [["Kishida Fumio", "3"], ["Kim Yo Jong", "2"], ["(no actor)", "1"], ["KCNA", "1"]]),
        ("type", [["statement", "2"], ["(no type)", "1"], ["poll", "1"], ["speech", "1"]]),
        ("tag", [["(no tag)", "2"], ["abduction-issue", "2"], ["summit", "2"]]),
    ],
)
def test_stats_by_key_as_csv(invoke, in_log_folder, by, expected):
    rows = list(csv.reader(io.StringIO(invoke("stats", "--by", by, "-F", "csv").stdout)))
    assert rows == [[by, "events"], *expected]


def test_stats_json_and_filters(invoke, in_log_folder):
    data = json.loads(invoke("stats", "--by", "actor", "-F", "json", "--type", "statement").stdout)
    assert data == [
        {"actor": "Kim Yo Jong", "events": 2},
        {"actor": "KCNA", "events": 1},
        {"actor": "Kishida Fumio", "events": 1},
    ]


def test_stats_rejects_an_unknown_key_and_event_only_formats(invoke, in_log_folder):
    bad_key = invoke("stats", "--by", "country")
    assert bad_key.exit_code == 2
    assert bad_key.stderr == "tracker: --by: 'country' is not one of year, month, actor, type, tag\n"
    ics = invoke("stats", "-F", "ics")
    assert ics.exit_code == 2
    assert "exports events" in ics.stderr
