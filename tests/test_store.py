from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from tracker.check import check_log
from tracker.edit import AppendEvents
from tracker.errors import LogError, UsageError
from tracker.index import load_log
from tracker.logfile import find_log, read_log
from tracker.safefile import atomic_write
from tracker.store import change_log

from .conftest import SAMPLE_LOG


def _append(path: Path, title: str = "New event", date: str = "2024-05-01", **extra) -> str:
    from tracker.dates import parse_date
    from tracker.model import new_event_fields

    change = AppendEvents(lambda log: [new_event_fields(log, title=title, date=parse_date(date), **extra)])
    change_log(path, change)
    return change.events[0]["id"]


def _write(tmp_path: Path, text: str | bytes, name: str = "events.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- reading ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "location", "message"),
    [
        ("events:\n  - id: a\n    date: 2024\n    title: [x\n", ":4:14:", "flow sequence at line 4, column 12"),
        ("events:\n  - id: a\n    title: x\x1b\n", ":3:13:", "control character U+001B"),
        ("events:\n  - id: a\n\tdate: 2024\n", ":3:1:", "tab"),
        ("events:\n  - id: a\n    date: 2024\n    title: x\n    title: y\n", ":5:5:", "duplicate key 'title'"),
        ("events:\n  - &e\n    id: a\n    date: 2024\n    title: x\n  - *e\n", ":2:5:", "anchor 'e'"),
        ("events:\n  - id: a\n    date: 2024\n    title: !!python/object x\n", ":4:12:", "tag '!!python/object'"),
        ("events:\n  - id: a\n    date: 2024\n    title: !custom x\n", ":4:12:", "tag '!custom'"),
        ("events:\n  - id: a\n    date: 2024-02-30\n    title: x\n", ":3:11:", "February 2024 has 29 days"),
        ("events:\n  - id: a\n    date: 2024\n    title: ''\n", ":4:12:", "no title"),
        ("events:\n  - id: a\n    date: 2024\n", ":2:5:", "no title"),
        ("events:\n  - id: a\n    title: x\n", ":2:5:", "no date"),
        ('events:\n  - id: a\n    date: 2024\n    title: "two\\nlines"\n', ":4:12:", "one line"),
        ("events: 3\n", ":1:9:", "must be a list"),
        ("just text\n", ":1:1:", "mapping with an 'events:' list"),
    ],
)
def test_bad_logs_fail_with_file_line_and_column(tmp_path, text, location, message):
    path = _write(tmp_path, text)
    with pytest.raises(LogError) as raised:
        load_log(path)
    line = str(raised.value)
    assert line.startswith(str(path) + location), line
    assert message in line
    assert "\n" not in line


def test_non_utf8_file_names_the_line_and_column_of_the_bad_byte(tmp_path):
    path = _write(tmp_path, b"events:\n  - id: a\n    date: 2024\n    title: caf\xe9\n")
    with pytest.raises(LogError, match=r"events.yaml:4:15: not UTF-8 text \(byte 0xe9\)"):
        load_log(path)


def test_implicit_typing_never_changes_a_value(tmp_path):
    path = _write(
        tmp_path,
        """\
        events:
          - id: no
            date: 2024-03-25
            title: on
            type: NO
            tags: [yes, off, 017, 1e3, true]
            location: 12:30
        """,
    )
    event = load_log(path).events[0]
    assert event.fields == {
        "id": "no",
        "date": "2024-03-25",
        "title": "on",
        "type": "NO",
        "tags": ["yes", "off", "017", "1e3", "true"],
        "location": "12:30",
    }
    assert (
        load_log(_write(tmp_path, "events:\n  - {id: y, date: 2002, title: x}\n", "y.yaml")).events[0].date.precision
        == "year"
    )


def test_an_empty_file_is_an_empty_log(tmp_path):
    assert load_log(_write(tmp_path, "")).events == []


def test_a_bare_list_is_a_log(tmp_path):
    log = load_log(_write(tmp_path, "- id: a\n  date: 2024\n  title: x\n"))
    assert [event.id for event in log.events] == ["a"]


def test_find_log_walks_up_to_the_nearest_parent(tmp_path):
    (tmp_path / "events.yaml").write_text("")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_log(None, nested) == tmp_path / "events.yaml"


def test_find_log_without_any_log_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=r"no events\.yaml"):
        find_log(None, tmp_path)


# --- writing ---------------------------------------------------------------


def test_add_splices_after_the_last_event_and_keeps_every_other_byte(log_path):
    before = log_path.read_bytes()
    new_id = _append(log_path, "Kishida meets reporters", "2024-05-01", actors=["Kishida"])
    after = log_path.read_bytes()
    head = before[: before.index(b"# trailing comment stays")]
    assert after.startswith(head)
    assert after.endswith(b"# trailing comment stays\n")
    inserted = after[len(head) : -len(b"# trailing comment stays\n")]
    assert inserted.decode() == (
        "\n"
        "  - id: 2024-05-01-kishida-meets-reporters\n"
        "    date: 2024-05-01\n"
        "    title: Kishida meets reporters\n"
        "    actors: [Kishida Fumio]\n"
    )
    assert new_id == "2024-05-01-kishida-meets-reporters"


def test_add_to_a_bare_list_uses_column_zero(tmp_path):
    path = _write(tmp_path, "# bare\n- id: a\n  date: 2024\n  title: x\n# end\n")
    _append(path, "Second", "2024-02")
    assert path.read_text() == (
        "# bare\n- id: a\n  date: 2024\n  title: x\n- id: 2024-02-second\n  date: 2024-02\n  title: Second\n# end\n"
    )


def test_add_keeps_comments_that_belong_to_the_last_event(tmp_path):
    path = _write(tmp_path, "events:\n    - id: a\n      date: 2024\n      title: x\n      # about a\n# section\n")
    _append(path, "B", "2025")
    assert path.read_text() == (
        "events:\n    - id: a\n      date: 2024\n      title: x\n      # about a\n"
        "    - id: 2025-b\n      date: 2025\n      title: B\n# section\n"
    )


def test_add_to_an_empty_file_starts_the_events_list(tmp_path):
    path = _write(tmp_path, "")
    _append(path, "First", "2024-01-01")
    assert path.read_text() == "events:\n  - id: 2024-01-01-first\n    date: 2024-01-01\n    title: First\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("events: []\nother: 1\n", "events:\n  - id: 2024-first\n    date: 2024\n    title: First\nother: 1\n"),
        ("events:\nother: 1\n", "events:\n  - id: 2024-first\n    date: 2024\n    title: First\nother: 1\n"),
        ("actors: []\n", "actors: []\nevents:\n  - id: 2024-first\n    date: 2024\n    title: First\n"),
    ],
)
def test_add_to_a_log_without_events_yet(tmp_path, text, expected):
    path = _write(tmp_path, text)
    _append(path, "First", "2024")
    assert path.read_text() == expected


def test_add_keeps_crlf_line_endings_and_a_bom(tmp_path):
    path = _write(tmp_path, b"\xef\xbb\xbfevents:\r\n  - id: a\r\n    date: 2024\r\n    title: x\r\n")
    _append(path, "B", "2025")
    assert path.read_bytes() == (
        b"\xef\xbb\xbfevents:\r\n  - id: a\r\n    date: 2024\r\n    title: x\r\n"
        b"  - id: 2025-b\r\n    date: 2025\r\n    title: B\r\n"
    )


def test_values_that_yaml_would_misread_are_quoted_and_read_back_exactly(tmp_path):
    path = _write(tmp_path, "")
    title = "no: #1 'quoted' \"double\" \x1b[31m"
    _append(path, title, "2024", tags=["no", "on", "2024-01-01", "a, b"], summary="line one\nline two")
    event = load_log(path).events[0]
    assert event.title == title
    assert event.tags == ["no", "on", "2024-01-01", "a, b"]
    assert event.summary == "line one\nline two"
    assert yaml.safe_load(path.read_text())["events"][0]["title"] == title


def test_ids_stay_unique(log_path):
    first = _append(log_path, "Same title", "2024-05-01")
    second = _append(log_path, "Same title", "2024-05-01")
    assert (first, second) == ("2024-05-01-same-title", "2024-05-01-same-title-2")


def test_a_log_with_errors_is_never_written(tmp_path):
    text = "events:\n  - id: a\n    date: 2024\n    title: x\n  - id: a\n    date: 2024\n    title: y\n"
    path = _write(tmp_path, text)
    with pytest.raises(LogError, match="duplicate id 'a'"):
        _append(path)
    assert path.read_text() == text


def test_a_log_that_does_not_parse_is_never_written(tmp_path):
    text = "events:\n  - id: a\n    date: 2024\n    title: [x\n"
    path = _write(tmp_path, text)
    with pytest.raises(LogError):
        _append(path)
    assert path.read_text() == text


def test_writes_keep_the_file_mode_and_leave_no_temporary_files(log_path):
    os.chmod(log_path, 0o640)
    _append(log_path)
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o640
    assert sorted(p.name for p in log_path.parent.iterdir()) == [".events.yaml.lock", "events.yaml"]


def test_writing_through_a_symlink_keeps_the_link(tmp_path, log_path):
    link = tmp_path / "link.yaml"
    link.symlink_to(log_path)
    _append(link)
    assert link.is_symlink()
    assert "2024-05-01-new-event" in log_path.read_text()


def test_a_failed_write_leaves_the_old_file_whole(log_path, monkeypatch):
    before = log_path.read_bytes()

    def broken_replace(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(LogError, match="cannot write: No space left on device; nothing was changed"):
        atomic_write(log_path, b"new content")
    assert log_path.read_bytes() == before
    assert [p.name for p in log_path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_folder_that_cannot_be_flushed_after_the_rename_is_not_reported_as_nothing_written(log_path, monkeypatch):
    fsync = os.fsync

    def refuse_folders(descriptor):
        if stat.S_ISDIR(os.fstat(descriptor).st_mode):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        fsync(descriptor)

    monkeypatch.setattr(os, "fsync", refuse_folders)
    with pytest.raises(LogError) as raised:
        atomic_write(log_path, b"new content")
    assert str(raised.value) == f"{log_path}: written, but its folder could not be flushed to disk: Input/output error"
    assert log_path.read_bytes() == b"new content"


def test_a_read_only_log_is_refused(log_path):
    before = log_path.read_bytes()
    os.chmod(log_path, 0o444)
    with pytest.raises(LogError, match="read-only"):
        _append(log_path)
    assert log_path.read_bytes() == before


def test_a_log_in_a_folder_that_cannot_be_written_is_refused(log_path, monkeypatch):
    def no_temporary_file(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", no_temporary_file)
    with pytest.raises(LogError, match="cannot write: Permission denied"):
        _append(log_path)


WRITER = """
import sys
from tracker.cli import main
sys.argv = ["tracker", "add", "-f", sys.argv[1], "Concurrent event", "--date", "2024-06-01"]
main()
"""


def test_twenty_concurrent_adds_all_land_with_distinct_ids(log_path):
    processes = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(log_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(20)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0] * 20, outputs
    printed_ids = sorted(out.decode().strip() for out, _ in outputs)
    log_file = read_log(log_path)
    assert check_log(log_file.log, log_file.problems) == []
    new_ids = sorted(event.id for event in log_file.log.events if event.title == "Concurrent event")
    assert len(new_ids) == 20 == len(set(new_ids))
    assert new_ids == printed_ids
    assert log_path.read_text().startswith(SAMPLE_LOG.split("# trailing comment stays")[0])


HOLDER = """
import fcntl, sys, time
handle = open(sys.argv[1], "a")
fcntl.flock(handle, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_a_writer_waits_for_the_lock(log_path):
    lock_path = log_path.with_name(".events.yaml.lock")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock_path), "1.5"], stdout=subprocess.PIPE)
    assert holder.stdout.readline() == b"locked\n"
    before = log_path.read_bytes()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(log_path)], stdout=subprocess.PIPE)
    time.sleep(0.7)
    assert writer.poll() is None
    assert log_path.read_bytes() == before
    holder.wait(timeout=30)
    assert writer.wait(timeout=60) == 0
    assert b"Concurrent event" in log_path.read_bytes()


CRASHER = """
import os, sys
import tracker.store as store
real_replace = os.replace
def crash(*args):
    os._exit(9)  # the process dies between writing the temporary file and renaming it
store.os.replace = crash
from tracker.cli import main
sys.argv = ["tracker", "add", "-f", sys.argv[1], "Never lands", "--date", "2024"]
main()
"""


def test_a_crash_mid_write_leaves_the_old_log_and_the_next_write_works(log_path):
    before = log_path.read_bytes()
    crashed = subprocess.run([sys.executable, "-c", CRASHER, str(log_path)], capture_output=True)
    assert crashed.returncode == 9
    assert log_path.read_bytes() == before
    _append(log_path, "After the crash", "2024-07")
    assert "After the crash" in log_path.read_text()


def test_a_syntax_error_in_a_file_with_ampersands_is_located(tmp_path):
    path = _write(tmp_path, "events:\n  - id: a\n    date: 2024-01-01\n    title: Q&A: session\n")
    with pytest.raises(LogError, match=r"events.yaml:4:15: invalid YAML: mapping values are not allowed"):
        load_log(path)


def test_a_write_removes_what_a_killed_writer_left_beside_the_log(tmp_path):
    """A writer killed while writing leaves its temporary file; the next writer, holding the lock, removes it."""
    log = tmp_path / "events.yaml"
    log.write_text("events:\n  - id: a\n    date: 2024\n    title: A\n", encoding="utf-8")
    script = (
        "import os, sys, tempfile, time\n"
        "from pathlib import Path\n"
        "from tracker.safefile import locked\n"
        "log = Path(sys.argv[1])\n"
        "with locked(log):\n"
        "    tempfile.mkstemp(dir=log.parent, prefix=f'.{log.name}.', suffix='.tmp')\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(60)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", script, str(log)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline() == "ready\n"
    writer.kill()
    writer.wait()
    leftovers = list(tmp_path.glob(".events.yaml.*.tmp"))
    assert len(leftovers) == 1
    other = tmp_path / ".events.yaml.extra.abcdefgh.tmp"  # another log's name: kept
    other.write_text("x")
    result = subprocess.run(
        [sys.executable, "-m", "tracker", "add", "B", "--date", "2024", "-f", str(log)],
        capture_output=True, text=True, env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.glob(".events.yaml.*.tmp")) == [other]
