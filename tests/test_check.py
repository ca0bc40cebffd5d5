from __future__ import annotations

from pathlib import Path

from tracker.check import check_log
from tracker.logfile import read_log


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "log.yaml"
    path.write_text(text, encoding="utf-8")
    log_file = read_log(path)
    return [str(problem).replace(str(path), "log.yaml") for problem in check_log(log_file.log, log_file.problems)]


def test_a_sound_log_has_no_problems(log_path):
    log_file = read_log(log_path)
    assert check_log(log_file.log, log_file.problems) == []


def test_every_problem_is_reported_with_its_position(tmp_path):
    text = (
        "actors:\n"
        "  - name: Kim Yo Jong\n"
        "events:\n"
        "  - id: a\n"  # 4
        "    date: 2024-02-30\n"
        "    title: x\n"
        "  - id: b\n"  # 7
        "    date: 2024-03\n"
        "    end: 2024-02\n"
        "    title: y\n"
        "    status: rumour\n"
        "  - id: b\n"  # 12
        "    date: 2024\n"
        "    title: z\n"
        "    related: [a, nope]\n"
        "    sources: [unknown-source, https://example.org/ok]\n"
        "    actors: [Kim Yo-jong, Somebody]\n"
        "    colour: red\n"
        "    date: 2025\n"
        "  - date: 2024\n"
        "    title: no id\n"
    )
    assert _problems(tmp_path, text) == [
        "log.yaml:5:11: impossible date '2024-02-30': February 2024 has 29 days",
        "log.yaml:9:10: end 2024-02 does not come after date 2024-03",
        "log.yaml:11:13: unknown status 'rumour' (use one of: reported, confirmed, disputed, alleged)",
        "log.yaml:12:9: duplicate id 'b' (first at line 7)",
        "log.yaml:15:14: related id 'nope' is not an event",
        "log.yaml:16:14: source id 'unknown-source' is not in the sources registry",
        "log.yaml:17:13: warning: actor 'Somebody' is not in the actors registry",
        "log.yaml:18:5: warning: unknown event field 'colour'",
        "log.yaml:19:5: duplicate key 'date' (first at line 13)",
        "log.yaml:20:5: event has no id",
    ]


def test_title_problems(tmp_path):
    text = 'events:\n  - id: a\n    date: 2024\n    title: ""\n  - id: b\n    date: 2024\n    title: "x\\ny"\n'
    assert _problems(tmp_path, text) == [
        "log.yaml:4:12: event has no title",
        "log.yaml:7:12: title must be one line",
    ]


def test_registry_problems(tmp_path):
    text = (
        "actors:\n"
        "  - name: Kishida Fumio\n"
        "    aliases: [Kishida]\n"
        "    party: LDP\n"
        "  - name: Kishida\n"
        "sources:\n"
        "  - id: s\n"
        "  - id: s\n"
        "evnts: []\n"
    )
    assert _problems(tmp_path, text) == [
        "log.yaml:4:5: warning: unknown actor field 'party'",
        "log.yaml:5:11: actor name or alias 'Kishida' already belongs to 'Kishida Fumio'",
        "log.yaml:8:9: duplicate source id 's' (first at line 7)",
        "log.yaml:9:1: warning: unknown top-level key 'evnts' (did you mean 'events'?)",
    ]


def test_actors_are_not_required_in_a_log_without_a_registry(tmp_path):
    assert _problems(tmp_path, "- id: a\n  date: 2024\n  title: x\n  actors: [Anyone]\n") == []


def test_an_event_with_a_bad_date_still_gets_its_other_problems_reported(tmp_path):
    text = "events:\n  - id: a\n    date: 2024-02-30\n    title: x\n    status: rumour\n    related: [nope]\n"
    assert _problems(tmp_path, text) == [
        "log.yaml:3:11: impossible date '2024-02-30': February 2024 has 29 days",
        "log.yaml:5:13: unknown status 'rumour' (use one of: reported, confirmed, disputed, alleged)",
        "log.yaml:6:14: related id 'nope' is not an event",
    ]


def test_an_end_inside_the_date_period_is_an_error(tmp_path):
    text = "- {id: a, date: 2024-04, end: 2024-04-01, title: x}\n- {id: b, date: 2024-04, end: 2024-05, title: y}\n"
    assert _problems(tmp_path, text) == ["log.yaml:1:31: end 2024-04-01 does not come after date 2024-04"]


def test_source_registry_dates_are_checked(tmp_path):
    text = "sources:\n  - id: s\n    date: 2024-02-30\nevents: []\n"
    assert _problems(tmp_path, text) == ["log.yaml:3:11: impossible date '2024-02-30': February 2024 has 29 days"]
