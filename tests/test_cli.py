from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest
import yaml

from tracker import __version__
from tracker.cli import app

TABLE = """\
date         id                                title                                   actors
-----------  --------------------------------  --------------------------------------  --------------------------
1970 – 1989  1970-abductions                   North Korea abducts Japanese citizens
2024-02      2024-02-approval                  Cabinet approval falls to 20.1 percent  Kishida Fumio
2024-02-15   2024-02-15-kim-yo-jong-statement  Kim Yo Jong says ties could improve     Kim Yo Jong, KCNA
2024-03-25   2024-03-25-kim-yo-jong-rejects    Kim Yo Jong rejects summit terms        Kim Yo Jong, Kishida Fumio
2024-04-11   2024-04-11-kishida-congress       Kishida addresses the U.S. Congress     Kishida Fumio
"""

TIMELINE = """\
1970
  1970 – 1989  North Korea abducts Japanese citizens

2024
  February
    2024-02      Cabinet approval falls to 20.1 percent  · Kishida Fumio
    2024-02-15   Kim Yo Jong says ties could improve  · Kim Yo Jong, KCNA
  March
    2024-03-25   Kim Yo Jong rejects summit terms  · Kim Yo Jong, Kishida Fumio
  April
    2024-04-11   Kishida addresses the U.S. Congress  · Kishida Fumio
"""

SHOW = """\
Kim Yo Jong rejects summit terms
id        2024-03-25-kim-yo-jong-rejects
date      2024-03-25  (day)
type      statement
actors    Kim Yo Jong, Kishida Fumio
tags      summit

Summary
  She says Kishida asked for a summit.

Quotes
  Kim Yo Jong: “bid for popularity”

Sources
  [1] How Likely Is a Japan-North Korea Summit? (The Diplomat)  https://example.org/diplomat

Related
  → 2024-02-15-kim-yo-jong-statement  2024-02-15  Kim Yo Jong says ties could improve
"""

ACTORS = """\
name           aliases                     role                                             country      events    first       last
-------------  --------------------------  -----------------------------------------------  -----------  --------  ----------  ----------
KCNA           Korean Central News Agency  State news agency                                North Korea  1         2024-02-15  2024-02-15
Kim Yo Jong    Kim Yo-jong                 Vice department director, WPK Central Committee  North Korea  2         2024-02-15  2024-03-25
Kishida Fumio  Fumio Kishida, Kishida      Prime Minister of Japan                          Japan        3         2024-02     2024-04-11
"""


@pytest.fixture
def in_log_folder(log_path, monkeypatch):
    monkeypatch.chdir(log_path.parent)
    return log_path


# --- reading commands --------------------------------------------------------


def test_list_prints_a_chronological_table(invoke, in_log_folder):
    result = invoke("list")
    assert result.exit_code == 0, result.output
    assert result.stdout == TABLE


def test_list_picks_columns_and_any_tabulate_format(invoke, in_log_folder):
    result = invoke("list", "--on", "2024-04", "-c", "id,type", "--columns", "location", "-F", "github")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "| id                          | type   | location         |\n"
        "|-----------------------------|--------|------------------|\n"
        "| 2024-04-11-kishida-congress | speech | Washington, D.C. |\n"
    )


def test_list_json_gives_fields_as_written(invoke, in_log_folder):
    result = invoke("list", "--actor", "kim yo-jong", "--format", "json")
    assert result.exit_code == 0, result.output
    events = json.loads(result.stdout)
    assert [event["id"] for event in events] == ["2024-02-15-kim-yo-jong-statement", "2024-03-25-kim-yo-jong-rejects"]
    assert events[1] == yaml.safe_load(in_log_folder.read_text())["events"][3] | {"date": "2024-03-25"}
    assert events[1]["actors"] == ["Kim Yo-jong", "Kishida"]


def test_list_jsonl_csv_and_tsv(invoke, in_log_folder):
    jsonl = invoke("list", "-F", "jsonl", "--type", "poll").stdout
    assert [json.loads(line)["id"] for line in jsonl.splitlines()] == ["2024-02-approval"]
    assert invoke("list", "-F", "csv", "-t", "summit", "-c", "date,id,title,actors").stdout == (
        "date,id,title,actors\n"
        "2024-02-15,2024-02-15-kim-yo-jong-statement,Kim Yo Jong says ties could improve,Kim Yo Jong; KCNA\n"
        "2024-03-25,2024-03-25-kim-yo-jong-rejects,Kim Yo Jong rejects summit terms,Kim Yo-jong; Kishida\n"
    )
    assert invoke("list", "-F", "tsv", "-c", "id,date", "--since", "2024-04").stdout == (
        "id\tdate\n2024-04-11-kishida-congress\t2024-04-11\n"
    )


def test_filters_combine_and_dates_accept_natural_input(invoke, in_log_folder):
    result = invoke("list", "-F", "csv", "-c", "id", "--since", "February 2024", "--until", "2024-03", "-a", "Kishida")
    assert result.stdout == "id\n2024-02-approval\n2024-03-25-kim-yo-jong-rejects\n"
    assert invoke("list", "-F", "csv", "-c", "id", "-s", "popularity").stdout == "id\n2024-03-25-kim-yo-jong-rejects\n"
    assert invoke("list", "-F", "csv", "-c", "id", "-n", "1", "--reverse").stdout == "id\n2024-04-11-kishida-congress\n"
    both = invoke("list", "-F", "csv", "-c", "id", "-a", "KCNA", "-a", "Kishida", "--all")
    assert both.stdout == "id\n"


def test_an_empty_result_is_a_success(invoke, in_log_folder):
    result = invoke("list", "--on", "1999", "-F", "csv")
    assert result.exit_code == 0
    assert result.stdout == "id,date,end,title,summary,actors,type,tags,location,sources,quotes,claims,related,status\n"


def test_unknown_actor_or_tag_warns_on_stderr_and_exits_0(invoke, in_log_folder):
    result = invoke("list", "-a", "Kishda", "-t", "sumit", "-F", "csv", "-c", "date,id,title,actors")
    assert result.exit_code == 0
    assert result.stdout == "date,id,title,actors\n"
    assert result.stderr == (
        "tracker: warning: no actor 'Kishda' in the log; did you mean 'Kishida', 'Kishida Fumio', 'Fumio Kishida'?\n"
        "tracker: warning: no tag 'sumit' in the log; did you mean 'summit'?\n"
    )


def test_unknown_column_warns(invoke, in_log_folder):
    result = invoke("list", "-c", "titel", "-F", "csv")
    assert result.exit_code == 0
    assert "no event has a field 'titel'; did you mean 'title'?" in result.stderr


def test_timeline(invoke, in_log_folder):
    result = invoke("timeline")
    assert result.exit_code == 0, result.output
    assert result.stdout == TIMELINE


def test_timeline_marks_approximate_uncertain_and_ranges(invoke, tmp_path):
    path = tmp_path / "log.yaml"
    path.write_text(
        "- {id: a, date: 2024-03~, title: Approximate}\n"
        "- {id: b, date: 2024-03-25?, title: Uncertain}\n"
        "- {id: c, date: 2024-04-08, end: 2024-04-14, title: Range}\n"
        "- {id: d, date: 2024-04-02T06:53+09:00, title: Timed}\n"
    )
    result = invoke("timeline", "-f", str(path))
    assert result.stdout == (
        "2024\n"
        "  March\n"
        "    c. 2024-03               Approximate\n"
        "    2024-03-25?              Uncertain\n"
        "  April\n"
        "    2024-04-02T06:53+09:00   Timed\n"
        "    2024-04-08 – 2024-04-14  Range\n"
    )


def test_show_prints_every_field_sources_quotes_and_related(invoke, in_log_folder):
    result = invoke("show", "2024-03-25-kim-yo-jong-rejects")
    assert result.exit_code == 0, result.output
    assert result.stdout == SHOW


def test_show_lists_events_that_point_here(invoke, in_log_folder):
    result = invoke("show", "2024-02-15-kim-yo-jong-statement")
    assert "  ← 2024-03-25-kim-yo-jong-rejects  2024-03-25  Kim Yo Jong rejects summit terms\n" in result.stdout


def test_show_includes_unknown_fields(invoke, tmp_path):
    path = tmp_path / "log.yaml"
    path.write_text("- {id: a, date: 2024, title: T, casualties: '0', notes: [x, y]}\n")
    assert invoke("show", "a", "-f", str(path)).stdout.endswith("Other fields\n  casualties: 0\n  notes: x, y\n")


def test_show_unknown_id_suggests_close_ids(invoke, in_log_folder):
    result = invoke("show", "2024-03-25-kim-yo-jong-rejcts")
    assert result.exit_code == 1
    assert result.stderr == (
        "tracker: no event with id '2024-03-25-kim-yo-jong-rejcts'; did you mean: 2024-03-25-kim-yo-jong-rejects, "
        "2024-02-15-kim-yo-jong-statement, 2024-04-11-kishida-congress\n"
    )


def test_actors(invoke, in_log_folder):
    result = invoke("actors")
    assert result.exit_code == 0, result.output
    assert result.stdout == ACTORS
    data = json.loads(invoke("actors", "-F", "json").stdout)
    assert data[2] == {
        "name": "Kishida Fumio",
        "aliases": ["Fumio Kishida", "Kishida"],
        "role": "Prime Minister of Japan",
        "country": "Japan",
        "events": 3,
        "first": "2024-02",
        "last": "2024-04-11",
    }


def test_actors_lists_names_missing_from_the_registry(invoke, tmp_path):
    path = tmp_path / "log.yaml"
    path.write_text("actors: []\nevents:\n  - {id: a, date: 2024, title: T, actors: [Nobody]}\n")
    data = json.loads(invoke("actors", "-f", str(path), "-F", "json").stdout)
    assert data == [
        {
            "name": "Nobody",
            "aliases": [],
            "role": "(not in registry)",
            "country": "",
            "events": 1,
            "first": "2024",
            "last": "2024",
        }
    ]


def test_human_views_escape_control_characters_machine_formats_keep_them(invoke, tmp_path):
    path = tmp_path / "log.yaml"
    path.write_text('- {id: a, date: 2024, title: "Bad \\e]0;owned\\a title", actors: ["X\\e[2J"]}\n')
    for command in (["list"], ["timeline"], ["show", "a"]):
        out = invoke(*command, "-f", str(path)).stdout
        assert "\x1b" not in out and "\x07" not in out, command
        assert "Bad \\x1b]0;owned\\x07 title" in out
    assert json.loads(invoke("list", "-f", str(path), "-F", "json").stdout)[0]["title"] == "Bad \x1b]0;owned\x07 title"


# --- check -------------------------------------------------------------------


def test_check_is_silent_on_a_sound_log(invoke, in_log_folder):
    result = invoke("check")
    assert (result.exit_code, result.output) == (0, "")


def test_check_reports_every_problem_and_exits_1(invoke, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("- id: a\n  date: 2024-02-30\n  title: x\n- id: b\n  date: 2024\n  title: y\n  related: [zz]\n")
    result = invoke("check", "-f", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        f"{path}:2:9: impossible date '2024-02-30': February 2024 has 29 days\n"
        f"{path}:7:12: related id 'zz' is not an event\n"
    )


def test_check_with_warnings_only_exits_0(invoke, tmp_path):
    path = tmp_path / "warn.yaml"
    path.write_text("actors: []\nevents:\n  - {id: a, date: 2024, title: x, actors: [Somebody]}\n")
    result = invoke("check", "-f", str(path))
    assert result.exit_code == 0
    assert result.stderr == f"{path}:3:43: warning: actor 'Somebody' is not in the actors registry\n"


def test_check_on_unparseable_yaml_reports_one_located_line(invoke, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("events:\n  - id: a\n    title: [x\n")
    result = invoke("check", "-f", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:3:14: invalid YAML")
    assert result.stderr.count("\n") == 1


# --- add ---------------------------------------------------------------------


def test_add_prints_the_new_id_and_appends(invoke, in_log_folder):
    result = invoke(
        "add", "North Korea fires an IRBM", "--date", "2 April 2024", "-a", "kim yo-jong", "--type", "missile-test",
        "-t", "missiles", "--location", "Pyongyang", "--summary", "A test.", "--source", "diplomat",
        "--quote", "Kim Yo Jong: a quote: with colon", "--related", "2024-03-25-kim-yo-jong-rejects", "--status", "reported",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == "2024-04-02-north-korea-fires-an-irbm\n"
    assert in_log_folder.read_text().endswith(
        "  - id: 2024-04-02-north-korea-fires-an-irbm\n"
        "    date: 2024-04-02\n"
        "    title: North Korea fires an IRBM\n"
        "    summary: A test.\n"
        "    actors: [Kim Yo Jong]\n"
        "    type: missile-test\n"
        "    tags: [missiles]\n"
        "    location: Pyongyang\n"
        "    sources: [diplomat]\n"
        "    quotes:\n"
        "      - by: Kim Yo Jong\n"
        "        text: 'a quote: with colon'\n"
        "    related: [2024-03-25-kim-yo-jong-rejects]\n"
        "    status: reported\n"
        "# trailing comment stays\n"
    )
    assert invoke("check").exit_code == 0


def test_add_defaults_to_today_and_accepts_relative_dates(invoke, in_log_folder):
    today = date.today().isoformat()
    assert invoke("add", "Breaking").stdout == f"{today}-breaking\n"
    assert invoke("show", f"{today}-breaking").exit_code == 0


def test_add_dry_run_prints_yaml_and_writes_nothing(invoke, in_log_folder):
    before = in_log_folder.read_bytes()
    result = invoke(
        "add", "Draft", "--date", "2024-05", "--end", "2024-06", "--source", "https://example.org/x", "--dry-run"
    )
    assert result.exit_code == 0
    assert result.stdout == (
        "\n  - id: 2024-05-draft\n    date: 2024-05\n    end: 2024-06\n    title: Draft\n"
        "    sources:\n      - url: https://example.org/x\n"
    )
    assert in_log_folder.read_bytes() == before


def test_add_reports_actors_missing_from_the_registry(invoke, in_log_folder):
    result = invoke("add", "Someone speaks", "--date", "2024-05-01", "-a", "Somebody New")
    assert result.exit_code == 0
    assert result.stderr == "tracker: warning: actor 'Somebody New' is not in the actors registry; added as written\n"
    assert "actors: [Somebody New]" in in_log_folder.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["X", "--date", "03/04/2024"], "tracker: --date: ambiguous date '03/04/2024'"),
        (["X", "--date", "2024-02-30"], "tracker: --date: impossible date '2024-02-30': February 2024 has 29 days"),
        (["X", "--date", "someday"], "tracker: --date: cannot read date 'someday'"),
        (["X", "--date", "2024-05", "--end", "2024-04"], "tracker: --end: 2024-04 does not come after --date 2024-05"),
        (
            ["X", "--date", "2024-04", "--end", "2024-04-01"],
            "tracker: --end: 2024-04-01 does not come after --date 2024-04",
        ),
        (["", "--date", "2024"], "tracker: TITLE: must not be empty"),
        (["two\nlines", "--date", "2024"], "tracker: TITLE: must be one line"),
        (["X", "--quote", "no speaker"], "tracker: --quote: expected 'WHO: TEXT'"),
        (["X", "--source", "nowhere"], "tracker: --source: 'nowhere' is neither a source id in the registry nor a URL"),
        (["X", "--related", "nope"], "tracker: --related: no event with id 'nope'"),
        (
            ["X", "--status", "rumour"],
            "tracker: --status: 'rumour' is not one of reported, confirmed, disputed, alleged",
        ),
        (["X", "--id", "2024-02-approval"], "tracker: --id: an event with id '2024-02-approval' already exists"),
    ],
)
def test_add_refuses_bad_options_with_one_line_and_exit_2(invoke, in_log_folder, args, message):
    before = in_log_folder.read_bytes()
    result = invoke("add", *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1
    assert in_log_folder.read_bytes() == before


def test_add_refuses_to_write_to_an_invalid_log(invoke, tmp_path):
    path = tmp_path / "events.yaml"
    text = "- {id: a, date: 2024, title: x}\n- {id: a, date: 2024, title: y}\n"
    path.write_text(text)
    result = invoke("add", "New", "-f", str(path), "--date", "2024")
    assert result.exit_code == 1
    assert result.stderr == f"{path}:2:8: duplicate id 'a' (first at line 1)\n"
    assert path.read_text() == text


def test_add_creates_the_file_it_is_given(invoke, tmp_path):
    path = tmp_path / "new.yaml"
    assert invoke("add", "First", "-f", str(path), "--date", "2024").exit_code == 0
    assert path.read_text() == "events:\n  - id: 2024-first\n    date: 2024\n    title: First\n"


# --- finding the log, exit codes, output rules -------------------------------


def test_log_is_found_in_a_parent_folder(invoke, in_log_folder, monkeypatch):
    nested = in_log_folder.parent / "notes" / "deeper"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert invoke("list").stdout == TABLE


def test_tracker_file_environment_variable(invoke, log_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path.parent)
    monkeypatch.setenv("TRACKER_FILE", str(log_path))
    assert invoke("list").stdout == TABLE


def test_no_log_anywhere_is_one_line_and_exit_2(invoke, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    for command in (["list"], ["timeline"], ["actors"], ["check"], ["show", "x"], ["add", "X"]):
        result = invoke(*command)
        assert result.exit_code == 2, command
        assert result.stderr.startswith("tracker: no events.yaml in ")
        assert result.stderr.count("\n") == 1


def test_a_missing_explicit_file_is_exit_2(invoke, tmp_path):
    result = invoke("list", "-f", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert result.stderr == f"tracker: {tmp_path / 'nope.yaml'}: no such file (tracker add creates it)\n"


def test_invalid_log_is_exit_1_with_a_located_line(invoke, tmp_path):
    path = tmp_path / "events.yaml"
    path.write_bytes(b"events:\n  - id: a\n    date: 2024\n    title: caf\xe9\n")
    result = invoke("list", "-f", str(path))
    assert result.exit_code == 1
    assert result.stderr == f"{path}:4:15: not UTF-8 text (byte 0xe9); save the file as UTF-8\n"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["list", "--since", "garbage"], "--since"),
        (["list", "--on", "2024-13"], "--on"),
        (["list", "--format", "nope"], "'--format'"),
        (["list", "--limit", "x"], "'--limit'"),
        (["list", "--bogus"], "--bogus"),
    ],
)
def test_usage_errors_name_the_option_and_exit_2(invoke, in_log_folder, args, option):
    result = invoke(*args)
    assert result.exit_code == 2
    assert option in result.stderr
    assert "Traceback" not in result.output


def test_version(invoke):
    assert invoke("--version").stdout == f"tracker {__version__}\n"


def test_every_command_has_a_docstring_with_an_example_and_every_option_has_help():
    from typer.main import get_command

    group = get_command(app)
    for name, command in group.commands.items():
        assert command.help and "Example: tracker" in command.help, name
        for parameter in command.params:
            assert getattr(parameter, "help", None) or parameter.param_type_name == "argument", (name, parameter.name)


def _run(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "TRACKER_FILE")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "tracker", *args], capture_output=True, text=True, env=environment, cwd=cwd
    )


def test_python_dash_m_runs_the_cli(log_path):
    result = _run("list", "-f", str(log_path))
    assert result.returncode == 0
    assert result.stdout == TABLE


def test_no_colour_when_piped(log_path):
    assert "\x1b[" not in _run("timeline", "-f", str(log_path)).stdout


TTY_RUNNER = textwrap.dedent(
    """
    import os, pty, sys
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.executable, [sys.executable, "-m", "tracker", *sys.argv[1:]])
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.waitpid(pid, 0)
    sys.stdout.write(b"".join(chunks).decode())
    """
)


def test_colour_on_a_terminal_unless_no_color(log_path):
    def on_terminal(env: dict) -> str:
        environment = {key: value for key, value in os.environ.items() if key != "NO_COLOR"} | env | {"TERM": "xterm"}
        return subprocess.run(
            [sys.executable, "-c", TTY_RUNNER, "timeline", "-f", str(log_path)],
            capture_output=True, text=True, env=environment,
        ).stdout  # fmt: skip

    assert "\x1b[1m2024\x1b[0m" in on_terminal({})
    plain = on_terminal({"NO_COLOR": "1"})
    assert "\x1b[" not in plain and "2024" in plain


def test_core_modules_never_import_typer_or_the_cli():
    package = Path(__file__).resolve().parent.parent / "tracker"
    modules = [module for module in package.rglob("*.py") if "cli" not in module.relative_to(package).parts]
    assert len(modules) > 15
    for module in modules:
        if module.name == "__main__.py":
            continue
        imported = set()
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
        assert not {"typer", "click", "rich"} & imported and not any(
            name.startswith("tracker.cli") for name in imported
        ), module.name
        if module.name in ("query.py", "formats.py"):
            assert "tracker.store" not in imported, module.name


def test_table_fits_the_terminal_width_but_keeps_ids_whole(log_path):
    environment = {key: value for key, value in os.environ.items() if key != "NO_COLOR"} | {"COLUMNS": "80"}
    out = subprocess.run(
        [sys.executable, "-c", TTY_RUNNER, "list", "-f", str(log_path)], capture_output=True, text=True, env=environment
    ).stdout
    lines = out.replace("\r\n", "\n").splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "2024-02-15-kim-yo-jong-statement" in out
    assert "…" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["list", "-F", "nope"], "tracker list: Invalid value for '--format' / '-F': unknown format 'nope'"),
        (["list", "--bogus"], "tracker list: No such option: --bogus"),
        (["show"], "tracker show: Missing argument 'ID'."),
    ],
)
def test_usage_errors_are_one_line_in_a_real_process(log_path, args, expected):
    result = _run(*args, "-f", str(log_path)) if args[0] != "show" else _run(*args)
    assert result.returncode == 2
    assert result.stderr.startswith(expected)
    assert result.stderr.count("\n") == 1


def test_no_arguments_prints_help():
    result = _run()
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: tracker [OPTIONS] COMMAND [ARGS]...")


def test_messages_escape_control_characters(invoke, in_log_folder):
    result = invoke("show", "nosuch\x1b[31m")
    assert result.stderr.startswith("tracker: no event with id 'nosuch\\x1b[31m'")


def test_show_accepts_a_unique_id_prefix(invoke, in_log_folder):
    result = invoke("show", "2024-04")
    assert result.exit_code == 0
    assert result.stdout.startswith("Kishida addresses the U.S. Congress\n")


def test_show_refuses_an_ambiguous_prefix(invoke, in_log_folder):
    result = invoke("show", "2024-02")
    assert result.exit_code == 1
    assert result.stderr == (
        "tracker: id prefix '2024-02' matches 2 events: 2024-02-15-kim-yo-jong-statement, 2024-02-approval\n"
    )


def test_markdown_tables_escape_pipes(invoke, tmp_path):
    path = tmp_path / "log.yaml"
    path.write_text("- {id: a, date: 2024, title: 'Poll | Kishida 20% | Kim'}\n")
    out = invoke("list", "-f", str(path), "-F", "github", "-c", "id,title").stdout
    assert out.splitlines()[2] == "| a    | Poll \\| Kishida 20% \\| Kim |"


def test_until_before_since_warns(invoke, in_log_folder):
    result = invoke("list", "--since", "2024-05", "--until", "2024-01", "-F", "csv")
    assert result.exit_code == 0
    assert result.stderr == "tracker: warning: --until 2024-01 ends before --since 2024-05 begins: nothing can match\n"


def test_add_uses_the_logs_spelling_of_tags_and_types_and_lowercases_status(invoke, in_log_folder):
    result = invoke(
        "add", "X", "--date", "2024-05", "-t", "Abduction Issue", "--type", "STATEMENT",
        "--status", "Confirmed", "--source", "diplomat", "--source", "diplomat", "--dry-run",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "    type: statement\n    tags: [abduction-issue]\n    sources: [diplomat]\n    status: confirmed\n" in (
        result.stdout
    )


def test_add_warns_about_a_twin_and_a_future_date(invoke, in_log_folder):
    twin = invoke("add", "Kishida addresses the U.S. Congress", "--date", "2024-04-11")
    assert twin.exit_code == 0
    assert twin.stderr == (
        "tracker: warning: an event with the same date and title already exists: 2024-04-11-kishida-congress\n"
    )
    future = invoke("add", "Planned summit", "--date", "2999-01")
    assert future.stderr == "tracker: warning: --date 2999-01 is in the future\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("events: 5\n", ":1:9: 'events' must be a list of events"),
        ("events:\n  - just text\n", ":2:5: an event must be a mapping"),
    ],
)
def test_add_to_a_log_with_a_broken_structure_is_one_line(invoke, tmp_path, text, expected):
    path = tmp_path / "events.yaml"
    path.write_text(text)
    result = invoke("add", "X", "--date", "2024", "-f", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith(str(path) + expected)
    assert result.stderr.count("\n") == 1
    assert path.read_text() == text


def test_a_title_with_a_line_break_does_not_check(invoke, tmp_path):
    path = tmp_path / "events.yaml"
    path.write_text('- {id: a, date: 2024, title: "ends with a newline\\n"}\n')
    result = invoke("check", "-f", str(path))
    assert result.exit_code == 1
    assert "title must be one line" in result.stderr


def test_add_refuses_empty_values(invoke, in_log_folder):
    result = invoke("add", "X", "-a", "")
    assert result.exit_code == 2
    assert result.stderr == "tracker: --actor: must not be empty\n"


def test_a_full_disk_on_stdout_is_one_line(log_path):
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "tracker", "list", "-f", str(log_path)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )
    assert result.returncode == 1
    assert result.stderr == "tracker: cannot write the output: No space left on device\n"


def test_every_command_is_found_in_the_module_main_imports_for_it():
    from tracker.cli import _command_name, app
    from tracker.cli.common import COMMAND_MODULES, COMMAND_ORDER

    defined = {_command_name(info): info.callback.__module__.rsplit(".", 1)[1] for info in app.registered_commands}
    assert defined == COMMAND_MODULES
    assert sorted(COMMAND_ORDER) == sorted(defined)


def test_the_console_script_runs_one_command_and_lists_them_all(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    listed = subprocess.run([sys.executable, "-m", "tracker", "--help"], capture_output=True, text=True, env=env)
    assert all(f"  {name} " in listed.stdout for name in ("list", "add", "merge-driver", "git-setup"))
    typo = subprocess.run([sys.executable, "-m", "tracker", "lsit"], capture_output=True, text=True, env=env)
    assert typo.returncode == 2 and "Did you mean 'list'?" in typo.stderr
    version = subprocess.run([sys.executable, "-m", "tracker", "check", "--help"], capture_output=True, text=True)
    assert version.returncode == 0 and "Usage: tracker check" in version.stdout


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["-n", "-1"], {}, "Invalid value for '--limit' / '-n': "),
        (["-n", "two"], {}, "Invalid value for '--limit' / '-n': "),
        (["-n", "1.5"], {}, "Invalid value for '--limit' / '-n': "),
        ([], {"TRACKER_NO_INDEX": "maybe"}, "Invalid value for '--no-index' (env var: 'TRACKER_NO_INDEX'): "),
    ],
)
def test_option_values_are_checked_in_a_real_process(log_path, args, env, expected):
    """The message after the option's name is typer's (its wording changed in 0.29), or ours in the same words."""
    result = _run("list", "-f", str(log_path), *args, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith(f"tracker list: {expected}")
    assert result.stderr.endswith(" (see 'tracker list --help')\n")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(("env_value", "indexed"), [("yes", False), (" TRUE ", False), ("0", True), ("off", True)])
def test_option_values_convert_like_typer(log_path, tmp_path, env_value, indexed):
    cache = tmp_path / "cache"
    result = _run(
        "list", "-f", str(log_path), "-n", " +2 ", env={"TRACKER_NO_INDEX": env_value, "XDG_CACHE_HOME": str(cache)}
    )
    assert result.returncode == 0, result.stderr
    assert [line.split()[1] for line in result.stdout.splitlines()[2:]] == [
        line.split()[1] for line in TABLE.splitlines()[-2:]
    ]
    assert (cache / "tracker").is_dir() == indexed


def test_a_command_starts_without_importing_pydantic(log_path, tmp_path):
    """typer 0.29 converts options through pydantic, whose import alone costs more than a query."""
    probe = "import runpy, sys; sys.argv = ['tracker', *sys.argv[1:]]; "
    probe += 'exec(\'try: runpy.run_module("tracker", run_name="__main__")\\nfinally: print(sorted(m for m in sys.modules if m.split(".")[0] == "pydantic"), file=sys.stderr)\')'
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    for args in (
        ["list", "-f", str(log_path), "--actor", "Kim Yo Jong", "-n", "3", "--since", "2024"],
        ["add", "Probe", "--date", "2024-05-01", "-t", "x", "-f", str(log_path), "--dry-run"],
        ["check", "-f", str(log_path)],
    ):
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, env=env)
        assert result.returncode == 0, result.stderr
        assert result.stderr.splitlines()[-1] == "[]", args


SAMPLE_VALUES = {
    "int": ["3", " 3 ", "+3", "-1", "0", "1_0", "1__0", "1.0", "1.", "1.5", "abc", "٣", "３", "", " ", 7],
    "bool": ["yes", "no", " TRUE ", "Off", "maybe", "", "1", "0", True, False],
    "str": ["x", "", " spaced ", "ü"],
    "list": [("a", "b"), (), ("",)],
    "Path": ["events.yaml", "/nonexistent/folder/x.yaml", "."],
}


def test_plain_option_conversion_agrees_with_typers_own():
    coercion = pytest.importorskip("typer._coercion", reason="typer before 0.29 converts with click types")
    from typer.main import get_command

    from tracker.cli.coercion import _plain, _PlainParam

    def outcome(runtime, value, param):
        try:
            return ("value", runtime.coerce(value, param=param, ctx=None))
        except Exception as error:
            return ("error", type(error).__name__, error.format_message())

    compared = 0
    for command in get_command(app).commands.values():
        for param in command.params:
            descriptor = param.type_descriptor
            if not _plain(descriptor.annotation, descriptor.parameter_info):
                continue
            theirs = coercion.build_runtime_param(descriptor)
            ours = _PlainParam(parameter_info=descriptor.parameter_info, annotation=descriptor.annotation)
            kind = "list" if descriptor.is_list else descriptor.annotation.__name__
            for value in [None, *SAMPLE_VALUES[kind]]:
                assert outcome(ours, value, param) == outcome(theirs, value, param), (command.name, param.name, value)
                compared += 1
    assert compared > 300


@pytest.mark.parametrize("no_index", [[], ["--no-index"]], ids=["index", "no index"])
def test_text_with_unicode_line_separators_is_added_and_edited_as_written(invoke, in_log_folder, no_index):
    title, summary, tag = "Talks\u2028resume", "one\u2029two\nthree", "a\x85b"
    invoke("list", *no_index)  # with the index current, add takes its path
    added = invoke("add", title, "--date", "2020", "--summary", summary, "-t", tag, *no_index)
    assert added.exit_code == 0, added.output
    new_id = added.stdout.strip()
    edited = invoke("edit", "2024-02-approval", "--title", "a\u2028b")
    assert edited.exit_code == 0, edited.output
    rows = {row["id"]: row for row in json.loads(invoke("list", "-F", "json", "--no-index").stdout)}
    assert (rows[new_id]["title"], rows[new_id]["summary"], rows[new_id]["tags"]) == (title, summary, [tag])
    assert rows["2024-02-approval"]["title"] == "a\u2028b"
    assert invoke("check").exit_code == 0


def test_a_dry_run_says_an_unknown_actor_would_be_added(invoke, in_log_folder):
    result = invoke("add", "X", "--date", "2024-05", "-a", "Somebody New", "--dry-run")
    assert result.exit_code == 0
    assert (
        result.stderr
        == "tracker: warning: actor 'Somebody New' is not in the actors registry; would be added as written\n"
    )
