"""The index answers exactly as the log does, is never stale, survives damage and concurrent use."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pty
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracker.index.build as index_build
import tracker.index.database as index_database
import tracker.mounts
import tracker.safefile
import tracker.store
from tracker import fastread, index
from tracker.check import check_log
from tracker.dates import parse_date
from tracker.index import index_file, load_log
from tracker.logfile import read_log
from tracker.mounts import changes_show_after_stat
from tracker.query import select_events

from .conftest import SAMPLE_LOG

ACTORS = ["Kishida Fumio", "Kishida", "Kim Yo Jong", "Kim Yo-jong", "KCNA", "Nobody Registered", "kishida fumio"]
TAGS = ["summit", "abduction-issue", "Abduction Issue", "missiles", "trade"]
TYPES = ["statement", "visit", "Statement", "poll"]
WORDS = ["talks", "summit", "Missile", "PRESS", "conference", "rejects", "über", "naïve", "ß", "a"]
DATES = st.one_of(
    st.integers(1990, 2026).map(str),
    st.tuples(st.integers(1990, 2026), st.integers(1, 12)).map(lambda ym: f"{ym[0]}-{ym[1]:02d}"),
    st.tuples(st.integers(1990, 2026), st.integers(1, 12), st.integers(1, 28)).map(
        lambda ymd: f"{ymd[0]}-{ymd[1]:02d}-{ymd[2]:02d}"
    ),
    st.just("2024-04-02T06:53+09:00"),
    st.just("2024-03~"),
)
REGISTRY = textwrap.dedent(
    """\
    # generated log
    title: Generated
    actors:
      - name: Kishida Fumio
        aliases: [Kishida]
      - name: Kim Yo Jong
        aliases: [Kim Yo-jong]
      - name: KCNA
    sources:
      - id: wire
    events:
    """
)


@st.composite
def events(draw):
    count = draw(st.integers(1, 12))
    lines = []
    for number in range(count):
        date = draw(DATES)
        lines += [f"  - id: e{number}", f"    date: '{date}'"]
        if draw(st.booleans()) and date[:4].isdigit() and "T" not in date:
            lines.append(f"    end: {int(date[:4]) + draw(st.integers(1, 3))}")
        title = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5)))
        lines.append(f"    title: {title}")
        if draw(st.booleans()):
            lines.append(f"    summary: {' '.join(draw(st.lists(st.sampled_from(WORDS), max_size=8)))} end")
        actors = draw(st.lists(st.sampled_from(ACTORS), max_size=3))
        if actors:
            lines.append(f"    actors: [{', '.join(actors)}]")
        tags = draw(st.lists(st.sampled_from(TAGS), max_size=3))
        if tags:
            lines.append(f"    tags: [{', '.join(tags)}]")
        if draw(st.booleans()):
            lines.append(f"    type: {draw(st.sampled_from(TYPES))}")
        if number and draw(st.booleans()):
            lines.append(f"    related: [e{draw(st.integers(0, number - 1))}]")
        if draw(st.integers(0, 4)) == 0:
            lines.append(f"    {draw(st.sampled_from(['colour', 'note', 'titel']))}: x")
        if draw(st.booleans()):
            lines += [
                "    quotes:",
                f"      - by: {draw(st.sampled_from(ACTORS))}",
                f"        text: {draw(st.sampled_from(WORDS))}",
            ]
    return REGISTRY + "\n".join(lines) + "\n"


@st.composite
def filters(draw):
    chosen = {}
    if draw(st.booleans()):
        chosen["since"] = parse_date(draw(DATES).rstrip("~"))
    if draw(st.booleans()):
        chosen["until"] = parse_date(draw(DATES).rstrip("~"))
    chosen["on"] = [parse_date(text.rstrip("~")) for text in draw(st.lists(DATES, max_size=2))]
    chosen["actors"] = draw(st.lists(st.sampled_from([*ACTORS, "Unknown Person"]), max_size=2))
    chosen["tags"] = draw(st.lists(st.sampled_from([*TAGS, "nothing"]), max_size=2))
    chosen["types"] = draw(st.lists(st.sampled_from(TYPES), max_size=2))
    chosen["search"] = draw(st.lists(st.sampled_from([*WORDS, "SS", "press conf", "", "ki"]), max_size=2))
    chosen["match_all"] = draw(st.booleans())
    chosen["limit"] = draw(st.one_of(st.none(), st.integers(0, 4)))
    chosen["reverse"] = draw(st.booleans())
    return chosen


def answer(log, chosen):
    selection = select_events(log, **chosen)
    return [(event.id, event.fields) for event in selection.events], selection.warnings


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=events(), queries=st.lists(filters(), min_size=1, max_size=4), streaming=st.booleans())
def test_the_index_gives_the_same_answers_as_the_log(tmp_path, cache_home, monkeypatch, text, queries, streaming):
    monkeypatch.setattr(fastread, "FAST_THRESHOLD", 0 if streaming else 256 * 1024)
    monkeypatch.setattr(index_build, "PARALLEL_MINIMUM", 2)  # a second process indexes half of a streamed log
    path = tmp_path / "events.yaml"
    path.write_text(text, encoding="utf-8")
    direct = load_log(path)
    indexed = load_log(path, index_folder=cache_home)
    assert type(indexed).__name__ == "IndexedLog"
    for chosen in queries:
        assert answer(indexed, chosen) == answer(direct, chosen)
    assert indexed.used_tags() == direct.used_tags()
    assert indexed.used_actor_names() == direct.used_actor_names()
    assert indexed.event_ids() == direct.event_ids()
    remembered = index.open_index(cache_home, path, build=False).problems(str(path))
    read_whole = read_log(path)
    checked = check_log(read_whole.log, read_whole.problems)
    if not any(problem.is_error for problem in checked):
        assert remembered == checked  # a log without errors has its check result from the build
    for event in direct.events:
        assert [twin.id for twin in indexed.events_dated(event.date)] == [
            twin.id for twin in direct.events_dated(event.date)
        ]
        assert [other.id for other in indexed.events_relating_to(event.id)] == [
            other.id for other in direct.events_relating_to(event.id)
        ]


def run(*arguments: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tracker", *arguments], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )


@pytest.fixture
def logged(tmp_path: Path) -> Path:
    path = tmp_path / "events.yaml"
    path.write_text(SAMPLE_LOG, encoding="utf-8")
    return path


def assert_untouched(path: Path, before: bytes) -> None:
    """The log holds `before`, and nothing but its lock file was left beside it."""
    assert path.read_bytes() == before
    assert sorted(entry.name for entry in path.parent.iterdir()) == [f".{path.name}.lock", path.name]


def titles(invoke, *arguments: str) -> list[str]:
    result = invoke("list", *arguments, "-F", "jsonl", "-c", "title")
    assert result.exit_code == 0, result.output
    return [line for line in result.stdout.splitlines()]


def test_the_index_lives_in_the_cache_folder_and_never_beside_the_log(invoke, logged, cache_home):
    invoke("list", "-f", str(logged))
    assert sorted(path.name for path in logged.parent.iterdir()) == ["events.yaml"]
    assert index_file(cache_home / "tracker", logged).exists()


def test_no_index_and_its_variable_leave_the_cache_alone(invoke, logged, cache_home, monkeypatch):
    assert invoke("list", "-f", str(logged), "--no-index").exit_code == 0
    monkeypatch.setenv("TRACKER_NO_INDEX", "1")
    assert invoke("list", "-f", str(logged)).exit_code == 0
    assert invoke("add", "Unindexed", "--date", "2024-05-01", "-f", str(logged)).exit_code == 0
    assert not (cache_home / "tracker").exists()


def test_a_same_size_rewrite_in_the_same_instant_is_seen(invoke, logged):
    before = titles(invoke, "-f", str(logged))
    status = logged.stat()
    changed = SAMPLE_LOG.replace("Kishida addresses the U.S. Congress", "Kishida addresses the U.S. Senate!!")
    assert len(changed) == len(SAMPLE_LOG)
    logged.write_text(changed, encoding="utf-8")
    os.utime(logged, ns=(status.st_atime_ns, status.st_mtime_ns))  # as if in the same clock tick
    after = titles(invoke, "-f", str(logged))
    assert '{"title": "Kishida addresses the U.S. Senate!!"}' in after
    assert after != before


def test_a_file_replaced_by_another_program_is_seen(invoke, logged, tmp_path):
    titles(invoke, "-f", str(logged))
    other = tmp_path / "checkout.yaml"
    other.write_text(SAMPLE_LOG.replace("Cabinet approval falls", "Cabinet approval rises"), encoding="utf-8")
    os.replace(other, logged)  # as git checkout and most editors do
    assert '{"title": "Cabinet approval rises to 20.1 percent"}' in titles(invoke, "-f", str(logged))


def test_an_index_still_current_is_not_rebuilt(invoke, logged, cache_home):
    titles(invoke, "-f", str(logged))
    database = index_file(cache_home / "tracker", logged)
    inode = database.stat().st_ino
    titles(invoke, "-f", str(logged), "--actor", "kishida")
    assert database.stat().st_ino == inode


@pytest.mark.parametrize(
    "damage",
    [
        lambda database: database.write_bytes(b"not a database at all" * 100),
        lambda database: database.write_bytes(database.read_bytes()[: len(database.read_bytes()) // 2]),
        lambda database: database.write_bytes(b""),
        lambda database: _set_meta(database, "schema", "0"),
        lambda database: _set_meta(database, "complete", "false"),
        lambda database: _drop(database, "events"),
        lambda database: _spoil(database, "UPDATE events SET fields = substr(fields, 3) WHERE seq = 1"),
        lambda database: _spoil(database, """UPDATE events SET fields = replace(fields, '"date":"', '"date":"x')"""),
    ],
    ids=["garbage", "truncated", "empty", "older-schema", "unfinished", "missing-table", "bad-row", "bad-date"],
)
def test_a_damaged_or_older_index_is_ignored_and_rebuilt(invoke, logged, cache_home, damage):
    expected = titles(invoke, "-f", str(logged), "--no-index")
    titles(invoke, "-f", str(logged))
    database = index_file(cache_home / "tracker", logged)
    damage(database)
    assert titles(invoke, "-f", str(logged)) == expected
    assert titles(invoke, "-f", str(logged), "--actor", "Kim Yo Jong") == titles(
        invoke, "-f", str(logged), "--actor", "Kim Yo Jong", "--no-index"
    )
    with sqlite3.connect(database) as connection:  # whole again
        assert connection.execute("SELECT count(*) FROM events").fetchone()[0] == 5


def _set_meta(database: Path, key: str, value: str) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))


def _spoil(database: Path, statement: str) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute(statement)


def _drop(database: Path, table: str) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute(f"DROP TABLE {table}")


@pytest.mark.parametrize("early_flush", [True, False], ids=["copy-flushed-early", "small-log"])
def test_add_with_the_index_writes_what_the_whole_file_path_writes(invoke, tmp_path, monkeypatch, early_flush):
    monkeypatch.setattr(tracker.safefile, "FLUSH_CHUNK_BYTES", 100 if early_flush else 4 << 20)
    variants = {
        "sample": SAMPLE_LOG,
        "crlf": SAMPLE_LOG.replace("\n", "\r\n"),
        "no-final-newline": SAMPLE_LOG.rstrip("\n").rsplit("\n", 1)[0],
        "bom": "\ufeff" + SAMPLE_LOG,
        "keys-after-events": SAMPLE_LOG + "title: After\n",
        "tight": SAMPLE_LOG.replace("\n\n", "\n"),
    }
    for name, text in variants.items():
        indexed, whole = tmp_path / f"{name}.yaml", tmp_path / f"{name}-whole.yaml"
        indexed.write_bytes(text.encode("utf-8"))
        whole.write_bytes(text.encode("utf-8"))
        assert invoke("list", "-f", str(indexed)).exit_code == 0  # a warm index
        for title, extra in (
            ("First", ["-a", "Kishida", "--tag", "summit"]),
            ("Second", ["--related", "2024-02-approval"]),
        ):
            arguments = ["add", title, "--date", "2024-05-01", *extra]
            assert invoke(*arguments, "-f", str(indexed)).exit_code == 0
            assert invoke(*arguments, "-f", str(whole), "--no-index").exit_code == 0
            assert indexed.read_bytes() == whole.read_bytes(), name
        assert titles(invoke, "-f", str(indexed)) == titles(invoke, "-f", str(indexed), "--no-index")


@pytest.mark.parametrize("final_newline", [True, False], ids=["ended", "no final newline"])
@pytest.mark.parametrize("style", ["|", "|-", "|+", ">", ">-", ">+"])
def test_a_large_log_ending_in_a_block_scalar_takes_adds(invoke, tmp_path, monkeypatch, style, final_newline):
    monkeypatch.setattr(fastread, "FAST_THRESHOLD", 0)  # as a log of 256 KB and more is read
    text = SAMPLE_LOG.rstrip("\n").rsplit("\n", 1)[0] + f"\n    summary: {style}\n      said it\n      twice"
    text += "\n" if final_newline else ""
    indexed, whole = tmp_path / "indexed.yaml", tmp_path / "whole.yaml"
    indexed.write_text(text, encoding="utf-8")
    whole.write_text(text, encoding="utf-8")

    def summary(*options: str) -> str:
        shown = invoke("list", "-f", str(indexed), "--search", "Congress", "-F", "jsonl", "-c", "summary", *options)
        assert shown.exit_code == 0, shown.output
        return shown.stdout

    body = "said it twice" if style.startswith(">") else "said it\\ntwice"
    ending = "\\n" if final_newline and not style.endswith("-") else ""
    assert summary() == f'{{"summary": "{body}{ending}"}}\n'
    for title in ("After", "Later"):
        assert invoke("add", title, "--date", "2024-05-01", "-f", str(indexed)).exit_code == 0
        assert invoke("add", title, "--date", "2024-05-01", "-f", str(whole), "--no-index").exit_code == 0
        assert indexed.read_bytes() == whole.read_bytes()
        assert titles(invoke, "-f", str(indexed)) == titles(invoke, "-f", str(indexed), "--no-index")
        assert summary() == summary("--no-index")
    if final_newline:
        assert summary() == f'{{"summary": "{body}{ending}"}}\n'  # the new events leave it as it was
    else:  # ending the file's last line gives the value the line break a saved file would have had
        assert summary() == f'{{"summary": "{body}{"" if style.endswith("-") else chr(92) + "n"}"}}\n'


def test_add_with_the_index_takes_the_fast_path(invoke, logged, monkeypatch):
    invoke("list", "-f", str(logged))

    monkeypatch.setattr(tracker.store, "read_log", lambda *args, **kwargs: pytest.fail("the log was read whole"))
    result = invoke("add", "Quick", "--date", "2024-05-01", "-a", "Kim Yo-jong", "-f", str(logged))
    assert result.exit_code == 0, result.output
    assert result.stdout == "2024-05-01-quick\n"
    assert "  - id: 2024-05-01-quick\n    date: 2024-05-01\n    title: Quick\n    actors: [Kim Yo Jong]\n" in (
        logged.read_text()
    )


def test_add_with_the_index_warns_of_a_same_date_twin_only(invoke, logged, monkeypatch):
    invoke("list", "-f", str(logged))

    monkeypatch.setattr(tracker.store, "read_log", lambda *args, **kwargs: pytest.fail("the log was read whole"))
    month = invoke("add", "Cabinet approval falls to 20.1 percent", "--date", "2024-02-01", "-f", str(logged))
    assert month.exit_code == 0 and month.stderr == ""  # the twin in the log is dated 2024-02, a month
    twin = invoke("add", "cabinet approval FALLS to 20.1 percent", "--date", "2024-02", "-f", str(logged))
    assert twin.exit_code == 0
    assert twin.stderr == "tracker: warning: an event with the same date and title already exists: 2024-02-approval\n"


def test_add_through_the_index_refuses_what_the_whole_path_refuses(invoke, logged):
    invoke("list", "-f", str(logged))
    before = logged.read_bytes()
    result = invoke("add", "Twin id", "--id", "2024-02-approval", "-f", str(logged))
    assert result.exit_code == 2
    assert result.stderr == "tracker: --id: an event with id '2024-02-approval' already exists\n"
    result = invoke("add", "Bad link", "--related", "nothing-here", "-f", str(logged))
    assert result.exit_code == 2
    assert_untouched(logged, before)


@pytest.mark.parametrize("failing", ["the copy", "the flush"])
def test_a_copy_that_fails_while_the_event_is_made_changes_nothing(invoke, logged, monkeypatch, failing):
    invoke("list", "-f", str(logged))
    before = logged.read_bytes()
    monkeypatch.setattr(tracker.safefile, "FLUSH_CHUNK_BYTES", 100)
    copy_range = tracker.safefile.copy_range

    def fail(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fail_beside_the_command(*args):
        if threading.current_thread() is threading.main_thread():
            return copy_range(*args)
        fail()

    if failing == "the copy":
        monkeypatch.setattr(tracker.safefile, "copy_range", fail_beside_the_command)
    else:
        monkeypatch.setattr(tracker.store.os, "fdatasync", fail)
    result = invoke("add", "Quick", "--date", "2024-05-01", "-f", str(logged))
    assert result.exit_code == 1
    assert result.stderr == f"{logged}: cannot write: No space left on device; nothing was changed\n"
    assert_untouched(logged, before)


@pytest.mark.parametrize("moment", ["while the event is made", "while waiting for the copy"])
def test_ctrl_c_during_an_add_changes_nothing_and_leaves_no_copy_running(invoke, logged, monkeypatch, moment):
    invoke("list", "-f", str(logged))
    before = logged.read_bytes()
    monkeypatch.setattr(tracker.safefile, "FLUSH_CHUNK_BYTES", 100)
    copiers = []
    joined = threading.Event()
    copy = tracker.store.copy_and_flush

    def slow_copy(*args):
        copiers.append(threading.current_thread())
        joined.wait(timeout=10) if moment == "while waiting for the copy" else time.sleep(0.5)
        copy(*args)

    monkeypatch.setattr(tracker.store, "copy_and_flush", slow_copy)
    if moment == "while the event is made":

        def interrupt(*args):
            raise KeyboardInterrupt

        monkeypatch.setattr(tracker.store, "_prepare", interrupt)
    else:
        join = threading.Thread.join

        def interrupted_join(thread, timeout=None):
            if not joined.is_set():
                joined.set()  # the copy goes on while Ctrl-C arrives
                raise KeyboardInterrupt
            join(thread, timeout)

        monkeypatch.setattr(threading.Thread, "join", interrupted_join)
    result = invoke("add", "Quick", "--date", "2024-05-01", "-f", str(logged))
    assert result.exit_code == 130  # as a shell reports a command stopped by Ctrl-C
    assert result.stderr == ""
    assert len(copiers) == 1 and not copiers[0].is_alive()
    assert_untouched(logged, before)


def test_a_refused_hint_to_flush_early_does_not_stop_an_add(invoke, logged, monkeypatch):
    invoke("list", "-f", str(logged))
    monkeypatch.setattr(tracker.safefile, "FLUSH_CHUNK_BYTES", 100)
    hints = []

    def refuse(*args):
        hints.append(args)
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))

    monkeypatch.setattr(tracker.store.os, "posix_fadvise", refuse)
    whole = logged.with_name("whole.yaml")
    whole.write_text(SAMPLE_LOG, encoding="utf-8")
    assert invoke("add", "Quick", "--date", "2024-05-01", "-f", str(logged)).exit_code == 0
    assert invoke("add", "Quick", "--date", "2024-05-01", "-f", str(whole), "--no-index").exit_code == 0
    assert hints
    assert logged.read_bytes() == whole.read_bytes()


@pytest.mark.parametrize("how", ["in place", "replaced"])
def test_a_log_changed_while_an_add_copies_it_is_appended_to_as_it_is_now(invoke, logged, monkeypatch, how):
    invoke("list", "-f", str(logged))
    copy = tracker.store.copy_and_flush

    def edited_meanwhile(*args):
        changed = logged.read_bytes().replace(b"Cabinet approval falls", b"Cabinet approval FALLS")
        if how == "in place":  # an editor saving in place, without the lock
            with open(logged, "r+b") as handle:
                handle.write(changed)
        else:  # git checkout, or an editor saving by rename
            logged.with_name("saved.yaml").write_bytes(changed)
            os.replace(logged.with_name("saved.yaml"), logged)
        copy(*args)

    monkeypatch.setattr(tracker.store, "copy_and_flush", edited_meanwhile)
    assert invoke("add", "Quick", "--date", "2024-05-01", "-f", str(logged)).exit_code == 0
    text = logged.read_text(encoding="utf-8")
    assert "Cabinet approval FALLS" in text and "title: Quick" in text
    assert titles(invoke, "-f", str(logged)) == titles(invoke, "-f", str(logged), "--no-index")


def test_a_same_size_rewrite_right_after_an_add_is_seen(invoke, logged):
    titles(invoke, "-f", str(logged))
    assert invoke("add", "Quick", "--date", "2024-05-01", "-f", str(logged)).exit_code == 0
    status = logged.stat()
    logged.write_text(logged.read_text(encoding="utf-8").replace("title: Quick", "title: Quack"), encoding="utf-8")
    os.utime(logged, ns=(status.st_atime_ns, status.st_mtime_ns))  # as if in the same clock tick
    assert '{"title": "Quack"}' in titles(invoke, "-f", str(logged))


def test_a_write_between_the_rename_and_the_writers_look_is_seen(invoke, logged, monkeypatch):
    titles(invoke, "-f", str(logged))
    replace = os.replace

    def replace_then_edit(source, target):
        replace(source, target)
        with open(target, "r+b") as handle:  # another program, the moment the new log is in place
            text = handle.read()
            handle.seek(0)
            handle.write(text.replace(b"title: Quick", b"title: Quack"))

    with monkeypatch.context() as patched:
        patched.setattr(tracker.store.os, "replace", replace_then_edit)
        assert invoke("add", "Quick", "--date", "2024-05-01", "-f", str(logged)).exit_code == 0
    assert '{"title": "Quack"}' in titles(invoke, "-f", str(logged))


def test_after_an_add_the_next_command_trusts_a_pinned_stat(invoke, logged, monkeypatch):
    with open(logged, "rb") as handle:
        if not changes_show_after_stat(handle.fileno()):
            pytest.skip("this filesystem's timestamps may not show a change made in the same clock tick")
    titles(invoke, "-f", str(logged))
    assert invoke("add", "Quick", "--date", "2024-05-01", "-f", str(logged)).exit_code == 0
    with monkeypatch.context() as patched:
        patched.setattr(index_database, "file_digests", lambda *args: pytest.fail("the log was read again"))
        assert '{"title": "Quick"}' in titles(invoke, "-f", str(logged))
    monkeypatch.setattr(tracker.mounts, "changes_show_after_stat", lambda descriptor: False)
    assert invoke("add", "Slow", "--date", "2024-05-02", "-f", str(logged)).exit_code == 0
    read = []
    monkeypatch.setattr(index_database, "file_digests", lambda *args: read.append(args) or [])
    titles(invoke, "-f", str(logged))
    assert read  # unpinned, a write this recent is compared by content


def test_a_read_only_log_reports_a_refused_event_first(invoke, logged):
    invoke("list", "-f", str(logged))
    logged.chmod(0o444)
    result = invoke("add", "Bad link", "--related", "nothing-here", "-f", str(logged))
    assert result.exit_code == 2
    assert (
        result.stderr == invoke("add", "Bad link", "--related", "nothing-here", "-f", str(logged), "--no-index").stderr
    )
    result = invoke("add", "Fine", "--date", "2024-05-01", "-f", str(logged))
    assert result.exit_code == 1
    assert "the file is read-only for you (check its permissions); nothing was changed" in result.stderr


def test_check_remembers_this_content_and_its_warnings_move_with_adds(invoke, logged):
    logged.write_text(SAMPLE_LOG + "titel: typo after the events\n", encoding="utf-8")
    first = invoke("check", "-f", str(logged))
    assert first.exit_code == 0
    assert "unknown top-level key 'titel'" in first.stderr
    invoke("add", "Stranger", "--date", "2024-05-02", "-a", "Someone New", "-f", str(logged))
    invoke("add", "Another", "--date", "2024-05-03", "-f", str(logged))
    remembered = invoke("check", "-f", str(logged))
    fresh = invoke("check", "-f", str(logged), "--no-index")
    assert remembered.stderr == fresh.stderr
    assert "warning: actor 'Someone New' is not in the actors registry" in fresh.stderr


@pytest.mark.parametrize("ending", ["", "\n", "titel: after the events\n", "titel: no final newline"])
@pytest.mark.parametrize("helper", [False, True], ids=["one process", "with a helper"])
def test_a_large_log_with_warnings_takes_adds_through_the_index(invoke, tmp_path, monkeypatch, helper, ending):
    monkeypatch.setattr(fastread, "FAST_THRESHOLD", 0)  # streamed: the warnings are found without their places
    monkeypatch.setattr(index_build, "PARALLEL_MINIMUM", 2 if helper else 10**9)
    entries = [
        f"  - id: e{number}\n    date: 2024-01-{number + 1:02d}\n    title: Event {number}\n    actors: [Person {number}]\n"
        for number in range(6)
    ]
    path = tmp_path / "events.yaml"
    text = "actors:\n  - name: Person 1\nevents:\n" + "".join(entries) + ending
    path.write_text(text if ending else text.rstrip("\n"), encoding="utf-8")
    assert invoke("list", "-f", str(path)).exit_code == 0

    for number, actor in enumerate(["Stranger", "Person 1", "Other Stranger"]):
        with monkeypatch.context() as patched:
            patched.setattr(tracker.store, "read_log", lambda *args, **kwargs: pytest.fail("the log was read whole"))
            added = invoke("add", f"New {number}", "--date", "2024-02-01", "-a", actor, "-f", str(path))
        assert added.exit_code == 0, added.output
        checked = invoke("check", "-f", str(path))
        assert checked.stderr == invoke("check", "-f", str(path), "--no-index").stderr
        if number == 0:
            assert (
                added.stderr == "tracker: warning: actor 'Stranger' is not in the actors registry; added as written\n"
            )
            assert checked.stderr.count("is not in the actors registry") == 6
    path.write_text(path.read_text().replace("id: e4", "id: e1"), encoding="utf-8")
    assert invoke("list", "-f", str(path)).exit_code == 0
    before = path.read_bytes()
    refused = invoke("add", "Other", "--date", "2024-02-02", "-f", str(path))
    assert refused.exit_code == 1
    assert "duplicate id 'e1'" in refused.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize("helper", [False, True], ids=["one process", "with a helper"])
def test_a_cold_check_of_a_large_log_with_warnings_reads_it_once(invoke, tmp_path, monkeypatch, helper):
    monkeypatch.setattr(fastread, "FAST_THRESHOLD", 0)
    monkeypatch.setattr(index_build, "PARALLEL_MINIMUM", 2 if helper else 10**9)
    entries = [
        f"  - id: e{number}\n    date: 2024-01-{number + 1:02d}\n    title: Event {number}\n"
        + (f"    actors: [Person {number}, Known]\n" if number % 3 == 0 else "")
        + ("    colour: red\n" if number == 7 else "")
        + ("    quotes:\n      - by: Quoted Stranger\n        text: words\n" if number == 8 else "")
        for number in range(10)
    ]
    path = tmp_path / "events.yaml"
    path.write_text("titel: typo\nactors:\n  - name: Known\nevents:\n" + "".join(entries), encoding="utf-8")
    expected = invoke("check", "-f", str(path), "--no-index")
    assert expected.exit_code == 0
    assert expected.stderr.count("\n") == 7  # the typo, four unknown actors, one quoted, one unknown field

    monkeypatch.setattr(tracker.store, "read_log", lambda *args, **kwargs: pytest.fail("the log was read whole"))
    cold = invoke("check", "-f", str(path))
    assert (cold.exit_code, cold.stderr) == (0, expected.stderr)


def test_a_log_with_errors_is_never_answered_from_the_index(invoke, logged):
    titles(invoke, "-f", str(logged))
    logged.write_text(SAMPLE_LOG.replace("date: 2024-02\n", "date: 2024-02-30\n"), encoding="utf-8")
    result = invoke("list", "-f", str(logged))
    assert result.exit_code == 1
    assert "impossible date '2024-02-30'" in result.stderr
    assert f"{logged}:38:11: impossible date" in result.stderr


@pytest.mark.parametrize("where", [2, 8], ids=["first half", "second half"])
def test_what_either_indexing_process_finds_is_reported_where_it_is(invoke, tmp_path, monkeypatch, where):
    monkeypatch.setattr(fastread, "FAST_THRESHOLD", 0)
    monkeypatch.setattr(index_build, "PARALLEL_MINIMUM", 2)
    entries = [
        f"  - id: e{number}\n    date: 2024-01-{number + 1:02d}\n    title: Event {number}\n" for number in range(10)
    ]
    path = tmp_path / "events.yaml"
    broken = entries.copy()
    broken[where] = broken[where].replace("2024-01-", "2024-02-3")
    path.write_text("events:\n" + "".join(broken), encoding="utf-8")
    result = invoke("list", "-f", str(path))
    assert result.exit_code == 1
    assert f"{path}:{3 + 3 * where}:11: invalid date" in result.stderr
    twin = entries.copy()
    twin[where] = twin[where].replace(f"id: e{where}", "id: e5" if where != 5 else "id: e4")
    path.write_text("events:\n" + "".join(twin), encoding="utf-8")
    assert invoke("list", "-f", str(path)).exit_code == 0  # readable: only check objects
    result = invoke("check", "-f", str(path))
    assert result.exit_code == 1
    assert result.stderr == invoke("check", "-f", str(path), "--no-index").stderr
    assert "duplicate id 'e5' (first at line" in result.stderr


def test_concurrent_adds_and_readers_leave_the_log_and_index_whole(logged, cache_home):
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    assert run("list", "-f", str(logged), cwd=logged.parent, env=env).returncode == 0
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tracker", "add", f"Concurrent {number}", "--date", "2024-06-01", "-f", str(logged)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for number in range(8)
    ] + [
        subprocess.Popen(
            [sys.executable, "-m", "tracker", "list", "--on", "2024-06", "-f", str(logged)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    for process in processes:
        _, error = process.communicate(timeout=120)
        assert process.returncode == 0, error
    check = run("check", "-f", str(logged), "--no-index", cwd=logged.parent, env=env)
    assert check.returncode == 0, check.stderr
    indexed = run("list", "--on", "2024-06", "-F", "jsonl", "-c", "id", "-f", str(logged), cwd=logged.parent, env=env)
    direct = run(
        "list", "--on", "2024-06", "-F", "jsonl", "-c", "id", "-f", str(logged), "--no-index", cwd=logged.parent
    )
    assert indexed.stdout == direct.stdout
    assert len(direct.stdout.splitlines()) == 8


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists() or (os.cpu_count() or 1) < 2, reason="needs Linux, 2 cores")
def test_a_build_killed_midway_leaves_no_helper_running_and_no_files_behind(tmp_path, cache_home):
    from .benchmark import generate_log

    log = tmp_path / "big.yaml"
    generate_log(log, 2 * index_build.PARALLEL_MINIMUM)  # large enough for a helper process
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    command = [sys.executable, "-m", "tracker", "list", "-f", str(log), "-n", "1"]
    folder = cache_home / "tracker"
    for _ in range(2):
        building = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not (helpers := _children(building.pid)) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert helpers, "no helper process was started"
        building.kill()
        building.wait()
        deadline = time.monotonic() + 1  # the helper would take seconds to finish its half
        while any(_running(helper) for helper in helpers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_running(helper) for helper in helpers)
    assert any(".tmp" in path.name for path in folder.iterdir())  # what the killed builds left
    assert run(*command[3:], cwd=tmp_path, env=env).returncode == 0
    assert [path.suffix for path in folder.iterdir()] == [".sqlite"]


def test_a_cache_folder_that_cannot_be_made_falls_back_to_reading_the_log(invoke, logged, tmp_path, monkeypatch):
    not_a_folder = tmp_path / "cache-is-a-file"
    not_a_folder.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(not_a_folder))
    result = invoke("list", "-f", str(logged), "-F", "jsonl", "-c", "title")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.splitlines() == titles(invoke, "-f", str(logged), "--no-index")
    assert invoke("add", "Still works", "--date", "2024-05-01", "-f", str(logged)).exit_code == 0
    assert invoke("check", "-f", str(logged)).exit_code == 0


def test_a_cold_build_of_a_large_log_shows_progress_on_a_terminal_only(tmp_path, cache_home):
    from tests.benchmark import generate_log

    path = tmp_path / "big.yaml"
    terms = generate_log(path, 6000)
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    command = [sys.executable, "-m", "tracker", "list", "--actor", terms["actor"], "-f", str(path)]
    master, slave = pty.openpty()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    shown = b""
    while True:
        try:
            piece = os.read(master, 4096)
        except OSError:
            break
        if not piece:
            break
        shown += piece
    os.close(master)
    assert process.wait(timeout=120) == 0
    assert "indexing the log [" in shown.decode() and "6,000/6,000 events" in shown.decode()
    index_file(cache_home / "tracker", path).unlink()
    piped = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    assert piped.stderr == ""
    assert index_file(cache_home / "tracker", path).exists()


def test_an_added_event_is_found_by_search_at_once(invoke, logged):
    titles(invoke, "-f", str(logged))
    invoke("add", "Envoy meets Zhao Leji in Pyongyang", "--date", "2024-05-01", "-f", str(logged))
    for needle in ("zhao leji", "ENVOY MEETS", "ji", "pyongyang"):
        found = titles(invoke, "-f", str(logged), "--search", needle)
        assert found == titles(invoke, "-f", str(logged), "--search", needle, "--no-index")
        assert '{"title": "Envoy meets Zhao Leji in Pyongyang"}' in found


@pytest.mark.parametrize(
    ("needle", "expected"),
    [
        ('"no"', ['Envoy says "no" to the Straße plan']),
        ("STRASSE", ['Envoy says "no" to the Straße plan']),  # matched as casefolded text
        ("aaaa", ["Cry of aaaaa"]),  # repeated trigrams
        ("aaaaaa", []),  # every trigram there, the needle not
        ("plan aaa", []),
        ('s "n', ['Envoy says "no" to the Straße plan']),
    ],
)
def test_search_through_the_index_finds_exactly_the_needle(invoke, logged, needle, expected):
    for title in ('Envoy says "no" to the Straße plan', "Cry of aaaaa"):
        assert invoke("add", title, "--date", "2024-05-01", "-f", str(logged), "--no-index").exit_code == 0
    found = titles(invoke, "-f", str(logged), "--search", needle)
    assert found == titles(invoke, "-f", str(logged), "--search", needle, "--no-index")
    assert found == [json.dumps({"title": title}, ensure_ascii=False) for title in expected]


def test_add_builds_a_missing_or_stale_index_and_appends_through_it(invoke, logged, cache_home, monkeypatch):

    monkeypatch.setattr(tracker.store, "read_log", lambda *args, **kwargs: pytest.fail("the log was read whole"))
    for number in range(2):
        if number:
            logged.write_text(logged.read_text() + "  - id: by-hand\n    date: 2024-06\n    title: Typed in\n")
        result = invoke("add", f"Added {number}", "--date", "2024-05-01", "-f", str(logged))
        assert result.exit_code == 0, result.output
        assert index_file(cache_home / "tracker", logged).exists()
    monkeypatch.undo()
    assert titles(invoke, "-f", str(logged)) == titles(invoke, "-f", str(logged), "--no-index")
    listed = "\n".join(titles(invoke, "-f", str(logged)))
    assert all(f'"title": "{title}"' in listed for title in ("Added 0", "Added 1", "Typed in"))


READERS = [
    *(["stats", "--by", by] for by in ("year", "month", "actor", "type", "tag")),
    *(["stats", "--by", by, "--since", "2024-02", "-a", "kishida"] for by in ("year", "month", "actor", "type", "tag")),
    ["stats", "--by", "tag", "-s", "summit", "-n", "2"],
    ["actors"],
    ["actors", "-F", "csv"],
    *(["export", "-F", name] for name in ("csv", "tsv", "json", "jsonl", "yaml", "markdown", "ics", "timelinejs")),
    ["export", "-F", "csv", "--since", "2024", "--reverse"],
    ["export", "-F", "jsonl", "-c", "id,title", "--tag", "summit"],
    ["list", "-F", "json", "-n", "2", "--reverse"],
    ["list", "-F", "yaml", "--on", "2024-03"],
    ["show", "2024-03-25"],
]


@pytest.mark.parametrize("arguments", READERS, ids=[" ".join(arguments) for arguments in READERS])
def test_reading_commands_answer_from_the_index_as_the_log_does(invoke, tmp_path, monkeypatch, arguments):
    text = SAMPLE_LOG.replace("type: poll\n", "type: poll\n    colour: red\n").replace(
        "actors: [Kishida Fumio]\n    type: speech", "actors: [Kishida, Joe Biden, Kishida Fumio]\n    type: speech"
    )
    path = tmp_path / "events.yaml"
    path.write_text(text, encoding="utf-8")
    expected = invoke(*arguments, "-f", str(path), "--no-index")
    assert expected.exit_code == 0, expected.output
    invoke("list", "-f", str(path))
    with monkeypatch.context() as patched:
        patched.setattr("tracker.logfile.read_log", lambda *args, **kwargs: pytest.fail("the log was read whole"))
        patched.setattr("tracker.index.build.build", lambda *args: pytest.fail("the index was built again"))
        result = invoke(*arguments, "-f", str(path))
    assert result.exit_code == 0, result.output
    if arguments[-1] in ("ics", "markdown"):  # they say when they were made
        assert result.stdout.splitlines()[:3] == expected.stdout.splitlines()[:3]
    else:
        assert result.stdout == expected.stdout


def test_a_full_export_streams_values_exactly_to_stdout_and_to_a_file(invoke, tmp_path):
    path = tmp_path / "events.yaml"
    hostile = SAMPLE_LOG.replace("title: Kim Yo Jong rejects summit terms", 'title: "Kim \\e[31mrejects\\a"')
    path.write_text(hostile, encoding="utf-8")
    carried = {  # machine formats carry values exactly: raw in CSV, escaped as each format escapes
        "csv": "Kim \x1b[31mrejects\a",
        "jsonl": '"Kim \\u001b[31mrejects\\u0007"',
        "json": '"Kim \\u001b[31mrejects\\u0007"',
        "yaml": '"Kim \\e[31mrejects\\a"',
    }
    for name, value in carried.items():
        shown = invoke("export", "-F", name, "-f", str(path))
        assert value in shown.stdout, name
        written = tmp_path / f"out.{name}"
        result = invoke("export", "-F", name, "-o", str(written), "-f", str(path))
        assert result.stderr == f"tracker: wrote 5 events to {written} ({name})\n"
        assert written.read_bytes() == shown.stdout_bytes
        assert shown.stdout == invoke("export", "-F", name, "-f", str(path), "--no-index").stdout


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        value = byte
        for _ in range(8):
            value = (value >> 1) ^ (0xEDB88320 if value & 1 else 0)
        table.append(value)
    return table


def _keep_crc32(data: bytes, position: int, target: int) -> bytes:
    """`data` with the 4 bytes at `position` chosen so that its CRC-32 is `target` (CRC-32 is linear, so a
    forger can keep it; the index's digests must not be fooled by that)."""
    table = _crc_table()
    by_top = {value >> 24: index for index, value in enumerate(table)}
    state = ~target & 0xFFFFFFFF
    for byte in reversed(data[position + 4 :]):
        index = by_top[state >> 24]
        state = (((state ^ table[index]) << 8) & 0xFFFFFFFF) | (index ^ byte)
    indexes = []
    for _ in range(4):
        index = by_top[state >> 24]
        indexes.append(index)
        state = ((state ^ table[index]) << 8) & 0xFFFFFFFF
    forward = ~zlib.crc32(data[:position]) & 0xFFFFFFFF
    forged = bytearray()
    for index in reversed(indexes):
        byte = (forward ^ index) & 0xFF
        forged.append(byte)
        forward = (forward >> 8) ^ table[index]
    return data[:position] + bytes(forged) + data[position + 4 :]


def test_a_rewrite_that_keeps_every_crc_is_still_seen(invoke, logged):
    import zlib as crc

    original = logged.read_bytes()
    assert '{"title": "Kim Yo Jong rejects summit terms"}' in titles(invoke, "-f", str(logged))
    for attempt in range(10_000):  # until the 4 bytes that keep the CRC are ordinary letters of a comment
        changed = original.replace(b"rejects summit terms", b"accepts summit terms").replace(
            b"# trailing comment stays", b"# trailing comment %05d" % attempt
        )
        spot = changed.index(b"# trailing comment") + 2
        forged = _keep_crc32(changed, spot, crc.crc32(original))
        if all(0x20 <= byte < 0x7F and byte not in b"#'\"" for byte in forged[spot : spot + 4]):
            break
    assert crc.crc32(forged) == crc.crc32(original) and len(forged) == len(original) and forged != original
    status = logged.stat()
    logged.write_bytes(forged)
    os.utime(logged, ns=(status.st_atime_ns, status.st_mtime_ns))  # a collaborator's same-size, same-time rewrite
    assert '{"title": "Kim Yo Jong accepts summit terms"}' in titles(invoke, "-f", str(logged))


def test_a_limit_past_what_sqlite_counts_selects_every_event(invoke, logged):
    invoke("list", "-f", str(logged))
    result = invoke("list", "-n", "99999999999999999999", "-f", str(logged), "-c", "id")
    assert result.exit_code == 0, result.output
    assert (
        result.stdout
        == invoke("list", "-n", "99999999999999999999", "-f", str(logged), "-c", "id", "--no-index").stdout
    )
    assert result.stdout.count("\n") == 7


def test_search_finds_text_after_a_nul_as_the_log_does(invoke, tmp_path):
    path = tmp_path / "events.yaml"
    path.write_text(
        SAMPLE_LOG.replace("summary: She says Kishida asked for a summit.", 'summary: "a\\0 bid for popularity"')
    )
    for needle in ("bid for popularity", "a", "popul"):
        shown = invoke("list", "-s", needle, "-f", str(path), "-c", "id")
        assert shown.stdout == invoke("list", "-s", needle, "-f", str(path), "-c", "id", "--no-index").stdout
    assert "2024-03-25-kim-yo-jong-rejects" in invoke("list", "-s", "bid for popularity", "-f", str(path)).stdout
