"""Building an index: the log read once, event by event, into a temporary database renamed into place.

Besides each event's values the build records where its text stands in the file
(its byte size and line count, summed per page), so that writers can read and
replace one event's lines without reading the others.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import glob
import json
import os
import signal
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tracker.errors import Problem, TrackerError
from tracker.index.database import (
    BLOCK_SIZE,
    INDEXES,
    SCHEMA,
    SCHEMA_VERSION,
    IndexUnusable,
    Progress,
    block_digest,
    connect,
    keep_problems,
    problem_from,
    problem_record,
    signature,
)
from tracker.index.rows import Rows
from tracker.model import Event, Log, build_log

# From this many events on, a second process indexes the second half of the log.
PARALLEL_MINIMUM = 20_000
EVENT_ROW_TABLES = ("events", "event_actors", "event_tags", "event_related", "search")


def build(database: Path, real: Path, display: str, progress: Progress | None) -> None:
    """Index the log at `real` into a temporary file beside `database`, then rename it into place."""
    from tracker.logfile import decode

    try:
        with open(real, "rb") as handle:
            before = os.fstat(handle.fileno())
            verified_ns = time.time_ns()
            raw = handle.read()
            view = memoryview(raw)
            digests = [block_digest(view[start : start + BLOCK_SIZE]) for start in range(0, len(raw), BLOCK_SIZE)]
            del view
            after = os.fstat(handle.fileno())
    except OSError:
        raise IndexUnusable from None
    if signature(before) != signature(after):
        raise IndexUnusable
    try:
        text = decode(raw, display)
    except TrackerError:
        raise IndexUnusable from None
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    del raw
    try:
        _remove_stray_builds(database)
        descriptor, temporary = tempfile.mkstemp(dir=database.parent, prefix=f".{database.name}.", suffix=".tmp")
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # held while this build lives (see _remove_stray_builds)
    except OSError:
        raise IndexUnusable from None
    try:
        connection = connect(Path(temporary))
        try:
            connection.execute("PRAGMA journal_mode = OFF")
            connection.executescript(SCHEMA)
            connection.execute("BEGIN")
            rows = Rows(connection, display)
            collecting = gc.isenabled()
            gc.disable()  # a build allocates many objects and frees each as it goes: no cycles to collect
            try:
                facts = _fill(rows, text, display, progress, len("\ufeff".encode()) if bom else 0)
            finally:
                if collecting:
                    gc.enable()
            facts["spans"] = rows.finish()
            for statement in INDEXES.strip().split(";\n"):
                connection.execute(statement)
            facts["fts"] = _full_text_index(connection)
            meta = {
                **facts,
                "schema": SCHEMA_VERSION,
                "log": str(real),
                "signature": signature(after),
                "verified_ns": verified_ns,
                "pinned": False,
                "blocks": digests,
                "bom": bom,
                "complete": True,
            }
            connection.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)", [(key, json.dumps(value)) for key, value in meta.items()]
            )
            if rows.problems is not None:
                keep_problems(connection, digests, rows.problems)
            connection.execute("COMMIT")
        finally:
            connection.close()
        os.replace(temporary, database)
    except (OSError, sqlite3.Error):
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise IndexUnusable from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    finally:
        os.close(descriptor)  # and with it the lock


def _full_text_index(connection: sqlite3.Connection) -> bool:
    """Index the search texts by trigrams (SQLite's FTS5), when this SQLite has it: `--search` then reads
    a few rows instead of scanning them all. Whether it did.

    Only which rows hold a trigram is kept, not where (detail=none): half the build time and a quarter
    of the size of a full index; a row holding all of a needle's trigrams is then checked for the needle.
    """
    try:
        connection.execute(
            "CREATE VIRTUAL TABLE fts"
            " USING fts5(body, content='search', content_rowid='seq', tokenize='trigram', detail=none)"
        )
    except sqlite3.OperationalError:
        return False
    connection.execute("INSERT INTO fts(rowid, body) SELECT seq, body FROM search")
    return True


class Layout:
    """Where each event's text stands in a log's text: event `position` runs from the start of its first
    line to the start of the next event's, the last one to where new events go (`end`)."""

    def __init__(self, text: str, starts: Sequence[int], end: int) -> None:
        self.text = text
        self.starts = starts  # character offsets
        self.end = end
        self.ascii = text.isascii()

    def chunk(self, position: int) -> tuple[int, int]:
        """The byte size and line count of event `position`'s text."""
        start = self.starts[position]
        stop = self.starts[position + 1] if position + 1 < len(self.starts) else self.end
        size = stop - start if self.ascii else len(self.text[start:stop].encode("utf-8"))
        return size, self.text.count("\n", start, stop)

    def facts(self, prelude: int | None, base: int) -> dict[str, Any]:
        """What meta records of the layout (byte offsets moved by `base`, the BOM's length)."""
        head = self.starts[0]
        return {
            "head_size": base + len(self.text[:head].encode("utf-8")),
            "head_lines": self.text.count("\n", 0, head),
            "prelude": None if prelude is None else base + len(self.text[:prelude].encode("utf-8")),
            "prelude_line": None if prelude is None else self.text.count("\n", 0, prelude),
        }


def odd_line_breaks(text: str) -> bool:
    """Whether `text` breaks lines with anything but LF and CRLF (a lone CR, NEL, U+2028, U+2029): YAML reads
    those as line breaks, editors and tracker's line arithmetic do not, so such logs are written whole."""
    if "\x85" in text or "\u2028" in text or "\u2029" in text:
        return True
    return "\r" in text and text.count("\r") != text.count("\r\n")


def _fill(rows: Rows, text: str, display: str, progress: Progress | None, base: int) -> dict[str, Any]:
    """Write every event's rows; the facts for meta (registries, layout, what check found)."""
    from tracker.fastread import FAST_THRESHOLD, NeedsWholeFile, open_block
    from tracker.logfile import first_comment, newline_of

    block = open_block(text, display) if len(text) >= FAST_THRESHOLD else None
    if block is not None:
        try:
            facts = _fill_streaming(rows, block, display, progress, base)
        except NeedsWholeFile:
            connection = rows.connection
            connection.execute("ROLLBACK")
            connection.execute("BEGIN")
            for table in EVENT_ROW_TABLES:
                connection.execute(f"DELETE FROM {table}")  # a helper's rows were committed already
            rows.__init__(connection, display)  # type: ignore[misc]
            block = None
    if block is None:
        facts = _fill_whole(rows, text, display, base)
    facts["heading"] = first_comment(text)
    facts["newline"] = newline_of(text)
    if facts["writable"] and odd_line_breaks(text):
        facts["writable"] = False
    return facts


def _fill_whole(rows: Rows, text: str, display: str, base: int) -> dict[str, Any]:
    from tracker.check import check_log
    from tracker.logfile import parse_text
    from tracker.nodes import YamlList, YamlMap, plain
    from tracker.splice import dash_column, end_of_item, events_list, item_range, line_start

    try:
        log, problems = parse_text(text, display)
    except TrackerError:
        raise IndexUnusable from None
    if any(problem.is_error for problem in problems):
        raise IndexUnusable  # unreadable events: reading the log whole reports them
    problems = check_log(log, problems)
    data = log.data
    events = events_list(data)
    layout = None
    facts: dict[str, Any] = {"writable": False, "head_size": 0, "head_lines": 0, "prelude": None, "prelude_line": None}
    block_map = isinstance(data, YamlMap) and not data.flow
    if events and not events.flow and (block_map or isinstance(data, YamlList)):
        starts = [item_range(text, events, position)[0] for position in range(len(events))]
        end = end_of_item(text, events[-1], dash_column(text, events.item_marks[-1].index))
        layout = Layout(text, starts, end)
        # The text an excerpt starts with: the `events:` line on, or for a bare list all that comes before it.
        prelude = line_start(text, data.key_marks["events"].index) if isinstance(data, YamlMap) else 0
        facts.update(layout.facts(prelude, base), writable=True)
    for position, event in enumerate(log.events):
        size, lines = layout.chunk(position) if layout is not None else (0, 0)
        rows.add(Event(plain(event.fields), event.date, event.end, event.index), log, size, lines)
    rows.problems = problems
    head = {key: plain(value) for key, value in data.items() if key != "events"} if isinstance(data, dict) else {}
    shape = "list" if isinstance(data, YamlList) else "map" if isinstance(data, dict) else "none"
    facts.update(head=head, shape=shape, check_errors=any(problem.is_error for problem in problems))
    return facts


def _fill_streaming(rows: Rows, block: Any, display: str, progress: Progress | None, base: int) -> dict[str, Any]:
    from tracker.check import EventChecker, check_log
    from tracker.nodes import plain
    from tracker.splice import dash_column, end_of_item

    head = block.head
    registries, head_problems = build_log(head, display)
    problems = check_log(registries, block.problems + head_problems)
    if any(problem.is_error for problem in problems):
        raise IndexUnusable
    total = len(block)
    last = block.item(total - 1)
    end = end_of_item(block.text, last, dash_column(block.text, last.start.index))
    layout = Layout(block.text, [block.offsets[line] for line in block.starts], end)
    checker = EventChecker(registries)
    half = total // 2 if total >= PARALLEL_MINIMUM and hasattr(os, "fork") and (os.cpu_count() or 1) > 1 else total
    helper = _start_helper(rows, block, registries, layout, half, total) if half < total else None
    try:
        usable = _index_events(rows, checker, block, registries, layout, 0, half, progress, total)
    except BaseException:
        if helper is not None:
            _abandon(helper)
        raise
    helped = _join_helper(rows, checker, helper) if helper is not None else {}
    if not usable or helped.get("unusable"):
        raise IndexUnusable  # a log with errors is read whole, so they are reported where they are
    if helped.get("whole"):
        from tracker.fastread import NeedsWholeFile

        raise NeedsWholeFile
    if progress is not None:
        progress(total, total)
    found = checker.finish()
    check_errors = any(problem.is_error for problem in found) or bool(helped.get("errors"))
    # Errors are reported by `check` reading the log whole. Warnings each come from one event's own
    # rules (references are checked only for errors): those events are read again with their places.
    rows.problems = None
    if not check_errors:
        located = _located_warnings(block, registries, rows.flagged, problems)
        if located is not None and (helper is None or helped.get("located") is not None):
            from tracker.check import by_position

            theirs = [problem_from(record, display) for record in helped.get("located") or []]
            rows.problems = sorted(located + theirs, key=by_position)
    return {
        "head": {key: plain(value) for key, value in head.items() if key != "events"},
        "shape": "map",
        "check_errors": check_errors,
        "writable": True,
        **layout.facts(block.offsets[block.first - 1], base),
    }


def _located_warnings(
    block: Any, registries: Log, positions: Sequence[int], head_problems: list[Problem]
) -> list[Problem] | None:
    """What `check` finds in a log without errors: the head's problems and those of the events at
    `positions`, each read again with its place in the file. None when one cannot be read that way."""
    from tracker.check import EventChecker, by_position
    from tracker.fastread import NeedsWholeFile
    from tracker.model import _build_event

    checker = EventChecker(registries)
    for position in positions:
        try:
            item = block.item(position)
        except NeedsWholeFile:
            return None
        checker.add(item, _build_event(item, position, item.start, registries.path, []))
    return sorted(head_problems + checker.problems, key=by_position)


def _index_events(
    rows: Rows,
    checker: Any,
    block: Any,
    registries: Log,
    layout: Layout,
    start: int,
    stop: int,
    progress: Progress | None = None,
    total: int = 0,
) -> bool:
    """Index events [start, stop) of `block`; False as soon as one is unusable (the log has errors)."""
    from tracker.model import _build_event
    from tracker.nodes import Mark

    nowhere = Mark((0, 0, 0))
    display = rows.path
    share = max(stop - start, 1)
    for position in range(start, stop):
        fields = block.values(position)
        event_problems: list[Problem] = []
        event = _build_event(fields, position, nowhere, display, event_problems)
        if event is None or event_problems:
            return False
        known = len(checker.problems)
        checker.add(fields, event)
        if len(checker.problems) != known:
            rows.flagged.append(position)
        rows.add(event, registries, *layout.chunk(position))
        if progress is not None and position % 1000 == 0:
            progress((position - start) * total // share, total)
    return True


def _remove_stray_builds(database: Path) -> None:
    """Remove the temporary files of builds of `database` whose process died (killed mid-build): a live
    build holds a lock on its file, a dead one's lock is gone with it."""
    for stray in database.parent.glob(f".{glob.escape(database.name)}.*.tmp*"):
        try:
            descriptor = os.open(stray, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            stray.unlink()
        except OSError:
            pass
        finally:
            os.close(descriptor)


def _start_helper(rows: Rows, block: Any, registries: Log, layout: Layout, start: int, stop: int) -> tuple[int, Path]:
    """Fork a process that indexes events [start, stop) into a database of its own; its pid and that database."""
    from tracker.check import EventChecker
    from tracker.fastread import NeedsWholeFile

    database = Path(rows.connection.execute("PRAGMA database_list").fetchone()[2] + ".helper")
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid, database
    status = 1
    try:
        _stop_with(parent)
        holder = os.open(database, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(holder, fcntl.LOCK_EX)  # held until this process ends (see _remove_stray_builds)
        connection = connect(database)
        connection.execute("PRAGMA journal_mode = OFF")
        connection.executescript(SCHEMA)
        connection.execute("BEGIN")
        helper = Rows(connection, rows.path)
        checker = EventChecker(registries)
        result: dict[str, Any] = {}
        try:
            result["unusable"] = not _index_events(helper, checker, block, registries, layout, start, stop)
        except NeedsWholeFile:
            result["whole"] = True
        result.update(
            summary=helper.summary(),
            ids=sorted(checker.ids),
            related=[related for _, related in checker.references],
            errors=any(problem.is_error for problem in checker.problems),
        )
        located = None
        if not result["errors"] and not result.get("unusable") and not result.get("whole"):
            located = _located_warnings(block, registries, helper.flagged, [])  # in parallel with the main half
        result["located"] = None if located is None else [problem_record(problem) for problem in located]
        connection.execute("INSERT INTO meta(key, value) VALUES ('helper', ?)", (json.dumps(result),))
        connection.execute("COMMIT")
        connection.close()
        status = 0
    finally:
        os._exit(status)


def _stop_with(parent: int) -> None:
    """Have the kernel kill this helper process when `parent`, whose build it serves, dies (Linux)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


def _abandon(helper: tuple[int, Path]) -> None:
    """Stop the helper and remove its database (the build is being given up)."""
    pid, database = helper
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
    with contextlib.suppress(OSError):
        os.unlink(database)


def _join_helper(rows: Rows, checker: Any, helper: tuple[int, Path]) -> dict[str, Any]:
    """Wait for the helper, take its rows and what it learned into `rows` and `checker`."""
    pid, database = helper
    try:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise IndexUnusable
        connection = rows.connection
        rows.flush()
        connection.execute("COMMIT")
        connection.execute("ATTACH DATABASE ? AS helper", (str(database),))
        try:
            (value,) = connection.execute("SELECT value FROM helper.meta WHERE key = 'helper'").fetchone()
            result = json.loads(value)
            connection.execute("BEGIN")
            for table in EVENT_ROW_TABLES:
                connection.execute(f"INSERT INTO {table} SELECT * FROM helper.{table}")
            connection.execute("COMMIT")
        finally:
            connection.execute("DETACH DATABASE helper")
            connection.execute("BEGIN")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(database)
    if "summary" in result:
        rows.take(result["summary"])
    duplicated = checker.ids & set(result.get("ids", ()))
    checker.ids.update(result.get("ids", ()))
    unresolved = [related for related in result.get("related", ()) if related not in checker.ids]
    result["errors"] = result.get("errors") or bool(duplicated or unresolved)  # both are errors
    return result
