"""The write path through the index: every writer reads only what it changes, writes exactly what the
whole-file path writes, and leaves an index that is what a fresh build of the new file would be."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracker.index.build as index_build
import tracker.store
from tracker import fastread
from tracker.check import check_log
from tracker.edit import AddRegistryEntry, SetHeadValue
from tracker.errors import LogError
from tracker.index import index_file, load_log, open_index
from tracker.index.database import file_digests
from tracker.logfile import read_log
from tracker.store import change_log

from .conftest import SAMPLE_LOG

VARIANTS = {
    "sample": SAMPLE_LOG,
    "crlf": SAMPLE_LOG.replace("\n", "\r\n"),
    "no-final-newline": SAMPLE_LOG.rstrip("\n").rsplit("\n", 1)[0],
    "bom": "\ufeff" + SAMPLE_LOG,
    "keys-after-events": SAMPLE_LOG + "title: After\n",
    "tight": SAMPLE_LOG.replace("\n\n", "\n"),
    "bare-list": "# a bare list\n"
    + "".join(
        line[2:] if line.startswith("  ") else line
        for line in SAMPLE_LOG.split("events:\n", 1)[1].splitlines(keepends=True)
        if "sources: [diplomat]" not in line
    ),
    "japanese": SAMPLE_LOG.replace("Kishida addresses the U.S. Congress", "岸田首相が米議会で演説").replace(
        "She says Kishida asked for a summit.", "「首脳会談を要請した」と述べた。"
    ),
}
# Each writer as a user runs it on the sample log, and whether it needs the warm index untouched by `list`.
WRITERS = {
    "add": ["add", "New event", "--date", "2024-05-01", "-a", "Kishida", "-t", "summit", "--summary", "one\ntwo"],
    "add-related": ["add", "Follow-up", "--date", "2024-05-02", "--related", "2024-02-approval"],
    "edit": ["edit", "2024-02-approval", "--status", "confirmed", "--add-tag", "polls", "--title", "Approval 20.1%"],
    "edit-date": ["edit", "2024-04-11", "--date", "2024-04-12", "--unset", "location"],
    "rename": ["edit", "2024-02-15-kim-yo-jong-statement", "--set", "id=2024-02-15-kim-statement"],
    "rm": ["rm", "2024-04-11-kishida-congress", "--yes"],
    "rm-first": ["rm", "1970-abductions", "--yes"],
    "rm-force": ["rm", "2024-02-15-kim-yo-jong-statement", "--yes", "--force"],
    "rm-two": ["rm", "2024-03-25-kim-yo-jong-rejects", "2024-04-11-kishida-congress", "--yes"],
}


def index_state(database: Path) -> dict:
    """What an index holds, independent of how its events are numbered."""
    with sqlite3.connect(database) as connection:
        seqs = [seq for (seq,) in connection.execute("SELECT seq FROM events ORDER BY seq")]
        ordinal = {seq: number for number, seq in enumerate(seqs)}

        def rows(query: str) -> list:
            found = connection.execute(query.replace(" FROM ", ", row >> 16 FROM ", 1)).fetchall()
            assert all(row[-2] == row[-1] for row in found), "an event's rows are keyed by its number"
            return sorted((ordinal[row[-2]], *row[:-2]) for row in found)

        page_sums = connection.execute(
            "SELECT page, size, lines FROM pages WHERE size != 0 OR lines != 0 ORDER BY page"
        ).fetchall()
        summed = connection.execute(
            "SELECT seq >> 10, sum(size), sum(lines) FROM events GROUP BY seq >> 10 ORDER BY 1"
        ).fetchall()
        assert page_sums == summed, "page sums agree with the events' sizes"
        meta = {key: json.loads(value) for key, value in connection.execute("SELECT key, value FROM meta")}
        if meta["fts"]:
            connection.execute("INSERT INTO fts(fts) VALUES ('integrity-check')")
        vocabulary = {
            kind: [
                (name, uses)
                for name, uses in connection.execute(
                    "SELECT name, uses FROM vocabulary WHERE kind = ? ORDER BY first_seq, first_pos", (kind,)
                )
            ]
            for kind in ("actor", "tag", "type")
        }
        fields = sorted(connection.execute("SELECT name, uses FROM vocabulary WHERE kind = 'field'"))
        checked = connection.execute("SELECT count(*) FROM checks").fetchone()[0]
        problems = connection.execute(
            "SELECT line, col, message, severity FROM check_problems ORDER BY line, col, ordinal"
        ).fetchall()
        return {
            "events": connection.execute(
                "SELECT id, start, stop, span, rank, type_key, type_name, size, lines, fields FROM events ORDER BY seq"
            ).fetchall(),
            "actors": rows("SELECT row & 65535, key, name, start, rank, seq FROM event_actors"),
            "tags": rows("SELECT row & 65535, key, name, seq FROM event_tags"),
            "related": rows("SELECT row & 65535, target, seq FROM event_related"),
            "search": [body for (body,) in connection.execute("SELECT body FROM search ORDER BY seq")],
            "vocabulary": vocabulary,
            "fields": fields,
            "meta": {
                key: meta[key]
                for key in (
                    "head",
                    "shape",
                    "check_errors",
                    "writable",
                    "head_size",
                    "head_lines",
                    "prelude",
                    "prelude_line",
                    "newline",
                    "heading",
                    "bom",
                )
            },
            "spans": set(meta["spans"]),
            "blocks": meta["blocks"],
            "problems": problems if checked else None,
        }


def assert_index_is_as_if_built(path: Path, cache: Path, tmp_path: Path) -> None:
    """The index in `cache`, as a command finds it (rebuilt when it does not describe the file: a write the
    whole-file path made leaves it to be rebuilt), holds exactly what a fresh build of the log at `path` would."""
    open_index(cache / "tracker", path)
    maintained = index_state(index_file(cache / "tracker", path))
    fresh_folder = tmp_path / f"fresh-{len(list(tmp_path.glob('fresh-*')))}"
    open_index(fresh_folder, path)
    fresh = index_state(index_file(fresh_folder, path))
    shutil.rmtree(fresh_folder)
    with open(path, "rb") as handle:
        assert file_digests(handle, [length for length, _ in maintained["blocks"]]) == maintained["blocks"]
    assert maintained["spans"] >= fresh["spans"]
    for key in ("events", "actors", "tags", "related", "search", "vocabulary", "fields", "meta"):
        assert maintained[key] == fresh[key], key
    if maintained["problems"] is not None:
        whole = read_log(path)
        expected = [
            (problem.location.line, problem.location.column, problem.message, problem.severity)
            for problem in check_log(whole.log, whole.problems)
        ]
        assert maintained["problems"] == expected


@pytest.fixture
def no_whole_reads(monkeypatch):
    """Fail the test if a writer reads the log whole (the write path's file path)."""

    def refuse(*args, **kwargs):
        pytest.fail("the log was read whole")

    def forbid() -> None:
        monkeypatch.setattr(tracker.store, "read_log", refuse)

    return forbid


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("writer", WRITERS)
def test_each_writer_through_the_index_writes_what_the_whole_file_path_writes(
    invoke, tmp_path, cache_home, no_whole_reads, variant, writer
):
    text = VARIANTS[variant]
    indexed, whole = tmp_path / "indexed.yaml", tmp_path / "whole.yaml"
    indexed.write_bytes(text.encode("utf-8"))
    whole.write_bytes(text.encode("utf-8"))
    assert invoke("check", "-f", str(indexed)).exit_code == 0  # a warm index that knows what check finds
    arguments = WRITERS[writer]
    expected = invoke(*arguments, "-f", str(whole), "--no-index")
    no_whole_reads()
    result = invoke(*arguments, "-f", str(indexed))
    assert (result.exit_code, result.stdout, result.stderr) == (expected.exit_code, expected.stdout, expected.stderr)
    assert indexed.read_bytes() == whole.read_bytes()
    assert expected.exit_code == 0, expected.output
    assert_index_is_as_if_built(indexed, cache_home, tmp_path)


def test_dry_runs_through_the_index_show_what_the_whole_file_path_shows(invoke, logged, cache_home, no_whole_reads):
    invoke("list", "-f", str(logged))
    before = logged.read_bytes()
    for writer in ("add", "edit", "rename", "rm-force", "rm-two"):
        arguments = [*WRITERS[writer], "--dry-run"]
        expected = invoke(*arguments, "-f", str(logged), "--no-index")
        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(tracker.store, "read_log", lambda *args, **kwargs: pytest.fail("read whole"))
            result = invoke(*arguments, "-f", str(logged))
        assert (result.exit_code, result.stdout) == (expected.exit_code, expected.stdout), writer
        assert result.stdout.startswith(("---", "\n")), writer
    assert logged.read_bytes() == before


@pytest.fixture
def logged(tmp_path: Path) -> Path:
    path = tmp_path / "events.yaml"
    path.write_text(SAMPLE_LOG, encoding="utf-8")
    return path


def test_import_through_the_index_leaves_the_next_command_warm(invoke, logged, cache_home, tmp_path, monkeypatch):
    invoke("list", "-f", str(logged))
    rows = tmp_path / "new.jsonl"
    rows.write_text(
        '{"date": "2024-05-01", "title": "First import", "actors": ["Kim Yo-jong"], "related": ["1970-abductions"]}\n'
        '{"id": "imported-2", "date": "2024-05", "title": "Second import", "related": ["2024-05-01-first-import"]}\n'
        '{"date": "2024-02-15", "title": "Kim Yo Jong says ties could improve"}\n',
        encoding="utf-8",
    )
    whole = tmp_path / "whole.yaml"
    whole.write_text(SAMPLE_LOG, encoding="utf-8")
    expected = invoke("import", str(rows), "-f", str(whole), "--no-index")
    monkeypatch.setattr(tracker.store, "read_log", lambda *args, **kwargs: pytest.fail("read whole"))
    result = invoke("import", str(rows), "-f", str(logged))
    assert (result.exit_code, result.stdout, result.stderr) == (expected.exit_code, expected.stdout, expected.stderr)
    assert "skipped, same date and title as 2024-02-15-kim-yo-jong-statement" in result.stderr
    assert logged.read_bytes() == whole.read_bytes()
    monkeypatch.setattr(index_build, "build", lambda *args: pytest.fail("the index was built again"))
    shown = invoke("list", "-f", str(logged), "-a", "kim yo jong", "-c", "id")
    assert "2024-05-01-first-import" in shown.stdout
    assert_index_is_as_if_built(logged, cache_home, tmp_path)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["edit", "2024-02-approval", "--set", "sources=[nowhere]"], "source id 'nowhere' is not in the sources"),
        (["edit", "2024-02-approval", "--set", "id=1970-abductions"], "an event with id '1970-abductions' already"),
        (["edit", "2024-02-approval", "--set", "related=[2024-02-approval]"], "cannot relate to itself"),
        (["edit", "2024-02-approval", "--end", "2023"], "does not come after"),
        (["rm", "2024-02-15-kim-yo-jong-statement", "--yes"], "other events relate to it"),
        (["rm", "2024-0", "--yes"], "matches 4 events"),
        (["edit", "nowhere-at-all", "--status", "confirmed"], "no event with id 'nowhere-at-all'"),
        (["add", "Bad", "--date", "2024-05-01", "--source", "nowhere"], "neither a source id"),
    ],
)
def test_a_refused_change_through_the_index_is_refused_as_the_whole_file_path_refuses_it(
    invoke, logged, tmp_path, arguments, message
):
    whole = tmp_path / "whole.yaml"
    whole.write_text(SAMPLE_LOG, encoding="utf-8")
    invoke("list", "-f", str(logged))
    expected = invoke(*arguments, "-f", str(whole), "--no-index")
    result = invoke(*arguments, "-f", str(logged))
    assert result.exit_code == expected.exit_code != 0
    assert message in result.stderr and message in expected.stderr
    assert result.stderr.count("\n") == 1
    assert result.stderr.replace(str(logged), "LOG") == expected.stderr.replace(str(whole), "LOG")
    assert logged.read_text(encoding="utf-8") == SAMPLE_LOG


def test_check_results_follow_every_write_through_the_index(invoke, tmp_path, cache_home):
    text = SAMPLE_LOG.replace("    type: poll\n", "    type: poll\n    colour: red\n").replace(
        "actors: [Kishida Fumio]\n    type: speech", "actors: [Kishida Fumio, Joe Biden]\n    type: speech"
    )
    path = tmp_path / "events.yaml"
    path.write_text(text, encoding="utf-8")
    assert invoke("check", "-f", str(path)).exit_code == 0
    for arguments in (
        ["add", "Unregistered", "--date", "2024-05-01", "-a", "Lee Jae-myung"],
        ["edit", "2024-02-approval", "--set", "note=x", "--add-actor", "Yoon Suk Yeol"],
        ["rm", "1970-abductions", "--yes"],
        ["edit", "2024-04-11-kishida-congress", "--unset", "location"],
    ):
        invoke(*arguments, "-f", str(path))
        indexed = invoke("check", "-f", str(path))
        whole = invoke("check", "-f", str(path), "--no-index")
        assert (indexed.exit_code, indexed.stderr) == (whole.exit_code, whole.stderr)
        assert_index_is_as_if_built(path, cache_home, tmp_path)
    assert "actor 'Yoon Suk Yeol' is not in the actors registry" in whole.stderr


def test_registry_and_head_changes_go_through_the_index(logged, cache_home, tmp_path, monkeypatch):
    text = SAMPLE_LOG.replace("    actors: [Kishida Fumio]\n    type: poll", "    actors: [Fumio K.]\n    type: poll")
    logged.write_text(text, encoding="utf-8")
    folder = cache_home / "tracker"
    assert load_log(logged, index_folder=folder).used_actor_names()  # a warm index
    monkeypatch.setattr(tracker.store, "read_log", lambda *args, **kwargs: pytest.fail("read whole"))
    entry = {"name": "Fumio K.", "aliases": ["FK"], "role": "Pseudonym"}
    changed = change_log(logged, AddRegistryEntry("actors", entry), index_folder=folder)
    assert changed.log.is_known_actor("FK")
    change_log(logged, SetHeadValue("title", "Japan and North Korea"), index_folder=folder)
    source = {"id": "kcna-watch", "title": "KCNA Watch", "url": "https://kcnawatch.org/"}
    change_log(logged, AddRegistryEntry("sources", source), index_folder=folder)
    new_text = logged.read_text(encoding="utf-8")
    assert new_text.startswith("# Sample log for tests\ntitle: Japan and North Korea\nactors:\n")
    assert "  - name: Fumio K.\n    aliases: [FK]\n    role: Pseudonym\nsources:\n" in new_text
    assert "    url: https://example.org/diplomat\n  - id: kcna-watch\n    title: KCNA Watch\n" in new_text
    monkeypatch.undo()
    assert_index_is_as_if_built(logged, cache_home, tmp_path)
    indexed = load_log(logged, index_folder=folder)
    assert [event.id for event in indexed.candidates(actor_keys=["fumiok"])] == ["2024-02-approval"]


def test_a_registry_change_that_takes_a_name_away_is_refused_as_on_the_whole_file_path(logged, cache_home, tmp_path):
    folder = cache_home / "tracker"
    load_log(logged, index_folder=folder)
    whole = tmp_path / "whole.yaml"
    whole.write_text(SAMPLE_LOG, encoding="utf-8")
    taken = {"name": "Kishida", "role": "Another Kishida"}  # an alias of Kishida Fumio's
    messages = []
    for path, index_folder in ((logged, folder), (whole, None)):
        with pytest.raises(
            LogError, match="actor name or alias 'Kishida' already belongs to 'Kishida Fumio'"
        ) as raised:
            change_log(path, AddRegistryEntry("actors", taken), index_folder=index_folder)
        messages.append(str(raised.value).replace(str(path), "LOG"))
    assert messages[0] == messages[1]
    assert logged.read_text(encoding="utf-8") == SAMPLE_LOG


ACTORS = ["Kishida Fumio", "Kishida", "Kim Yo Jong", "Kim Yo-jong", "KCNA", "Nobody Registered"]
TAGS = ["summit", "abduction-issue", "Abduction Issue", "missiles"]
WORDS = ["talks", "summit", "Missile", "conference", "rejects", "über", "会談", "a"]
DATES = ["2024", "2024-02", "2024-03-25", "2023-11-02", "2002-09-17", "2024-04-02T06:53+09:00"]

operations = st.one_of(
    st.tuples(
        st.just("add"),
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=4),
        st.sampled_from(DATES),
        st.lists(st.sampled_from(ACTORS), max_size=2),
        st.lists(st.sampled_from(TAGS), max_size=2),
        st.booleans(),
        st.sampled_from([None, "one line", "two\nlines", "ends in a break\n"]),
    ),
    st.tuples(
        st.just("edit"),
        st.integers(0, 30),
        st.sampled_from(["status", "title", "add-tag", "remove-tag", "date", "rename", "relate", "summary", "actor"]),
        st.sampled_from(WORDS),
    ),
    st.tuples(st.just("rm"), st.lists(st.integers(0, 30), min_size=1, max_size=2), st.booleans()),
    st.tuples(st.just("import"), st.integers(1, 3), st.booleans()),
    st.tuples(st.just("actor"), st.sampled_from(["Moon Jae-in", "Zhao Leji", "Nobody Registered"])),
)


def _arguments(operation: tuple, ids: list[str], tmp_path: Path, step: int) -> list[str] | None:
    kind = operation[0]
    if kind == "add":
        _, words, date, actors, tags, related, summary = operation
        arguments = ["add", " ".join(words), "--date", date]
        arguments += [value for actor in actors for value in ("-a", actor)]
        arguments += [value for tag in tags for value in ("-t", tag)]
        if related and ids:
            arguments += ["--related", ids[0]]
        if summary is not None:
            arguments += ["--summary", summary]
        return arguments
    if not ids:
        return None
    if kind == "edit":
        _, number, what, word = operation
        target = ids[number % len(ids)]
        options = {
            "status": ["--status", "confirmed"],
            "title": ["--title", f"{word} retitled"],
            "add-tag": ["--add-tag", word],
            "remove-tag": ["--remove-tag", "summit"],
            "date": ["--date", "2024-06"],
            "rename": ["--set", f"id=renamed-{step}"],
            "relate": ["--set", f"related=[{ids[(number + 1) % len(ids)]}]"],
            "summary": ["--set", f"summary=|\n  {word}\n  more"],
            "actor": ["--add-actor", "Kim Yo-jong"],
        }[what]
        return ["edit", target, *options]
    if kind == "rm":
        _, numbers, force = operation
        return ["rm", *dict.fromkeys(ids[number % len(ids)] for number in numbers), "--yes"] + (
            ["--force"] if force else []
        )
    if kind == "import":
        _, count, clash = operation
        rows = tmp_path / f"rows-{step}.jsonl"
        lines = [
            json.dumps({"date": f"2025-0{number + 1}", "title": f"Imported {step} {number}", "related": [ids[0]]})
            for number in range(count)
        ]
        if clash:
            lines.append(json.dumps({"id": ids[-1], "date": "2025", "title": "Clash"}))
        rows.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return ["import", str(rows)]
    return None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    variant=st.sampled_from(sorted(VARIANTS)),
    steps=st.lists(operations, min_size=1, max_size=5),
    streaming=st.booleans(),
)
def test_random_writes_through_the_index_match_the_whole_file_path_and_a_fresh_build(
    invoke, tmp_path_factory, monkeypatch, variant, steps, streaming
):
    monkeypatch.setattr(fastread, "FAST_THRESHOLD", 0 if streaming else 256 * 1024)
    monkeypatch.setattr(index_build, "PARALLEL_MINIMUM", 2)
    tmp_path = tmp_path_factory.mktemp("writes")
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    indexed, whole = tmp_path / "indexed.yaml", tmp_path / "whole.yaml"
    indexed.write_bytes(VARIANTS[variant].encode("utf-8"))
    whole.write_bytes(VARIANTS[variant].encode("utf-8"))
    assert invoke("check", "-f", str(indexed)).exit_code == 0
    for step, operation in enumerate(steps):
        ids = load_log(whole).event_ids()
        if operation[0] == "actor":
            entry = {"name": operation[1]}
            outcomes = []
            for path, folder in ((indexed, cache / "tracker"), (whole, None)):
                try:
                    change_log(path, AddRegistryEntry("actors", entry), index_folder=folder)
                    outcomes.append("written")
                except Exception as error:
                    outcomes.append(type(error).__name__)
            assert outcomes[0] == outcomes[1]
        else:
            arguments = _arguments(operation, ids, tmp_path, step)
            if arguments is None:
                continue
            expected = invoke(*arguments, "-f", str(whole), "--no-index")
            result = invoke(*arguments, "-f", str(indexed))
            assert result.exit_code == expected.exit_code, (arguments, result.output, expected.output)
            assert result.stdout == expected.stdout
        assert indexed.read_bytes() == whole.read_bytes(), arguments
        assert_index_is_as_if_built(indexed, cache, tmp_path)
        listed = invoke("list", "-f", str(indexed), "-F", "jsonl")
        assert listed.stdout == invoke("list", "-f", str(indexed), "-F", "jsonl", "--no-index").stdout
