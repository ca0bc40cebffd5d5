"""The index's SQLite file: its schema, where it lives, and when it may be trusted.

The log stays the source of truth. The index records which content it was built
from (the file's stat signature and a SHA-256 digest of each block of its bytes)
and is used only while the file provably still holds that content: the signature
matches and either the file was last changed well before the index last looked
at it, or tracker wrote this version itself and its stat pins it (see
tracker.mounts). When neither is certain (git's "racily clean" case: a rewrite
in the same clock tick keeps size and time), its bytes must hash the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from tracker.dates import parse_date
from tracker.errors import Location, Problem, TrackerError
from tracker.model import Event

SCHEMA_VERSION = 13
BLOCK_SIZE = 1 << 20
# A file changed within this long of the index's last look may share its timestamp with an
# earlier version (timestamps come from a coarse clock): such a file is compared by content.
FINE_CLOCK_SLACK_NS = 50_000_000
COARSE_CLOCK_SLACK_NS = 2_000_000_000
DAY_US = 86_400_000_000
# Events' byte sizes are summed per page of this many sequence numbers, so that any event's place in
# the file is a sum of at most a few hundred pages and one page's rows.
PAGE_BITS = 10

Progress = Callable[[int, int], None]

SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE events(
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL, start INTEGER NOT NULL, stop INTEGER NOT NULL,
    span INTEGER NOT NULL, rank INTEGER NOT NULL, type_key TEXT NOT NULL, type_name TEXT NOT NULL,
    size INTEGER NOT NULL, lines INTEGER NOT NULL, fields TEXT NOT NULL
);
CREATE TABLE pages(page INTEGER PRIMARY KEY, size INTEGER NOT NULL, lines INTEGER NOT NULL);
CREATE TABLE event_actors(
    row INTEGER PRIMARY KEY, key TEXT NOT NULL, name TEXT NOT NULL, seq INTEGER NOT NULL,
    start INTEGER NOT NULL, rank INTEGER NOT NULL
);
CREATE TABLE event_tags(row INTEGER PRIMARY KEY, key TEXT NOT NULL, name TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE TABLE event_related(row INTEGER PRIMARY KEY, target TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE TABLE vocabulary(
    kind TEXT NOT NULL, name TEXT NOT NULL, first_seq INTEGER NOT NULL, first_pos INTEGER NOT NULL,
    uses INTEGER NOT NULL, PRIMARY KEY(kind, name)
);
CREATE TABLE search(seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE checks(content TEXT NOT NULL);
CREATE TABLE check_problems(
    ordinal INTEGER PRIMARY KEY, line INTEGER, col INTEGER, message TEXT NOT NULL, severity TEXT NOT NULL
);
"""
INDEXES = """
CREATE INDEX events_start ON events(start);
CREATE INDEX events_span ON events(span, start);
CREATE INDEX events_id ON events(id);
CREATE INDEX events_type ON events(type_key);
CREATE INDEX event_actors_key ON event_actors(key, seq);
CREATE INDEX event_actors_name ON event_actors(name, start, rank);
CREATE INDEX event_tags_key ON event_tags(key, seq);
CREATE INDEX event_related_target ON event_related(target);
"""
# The tables holding one or more rows per event: row `seq << ROW_BITS | n` is its n-th (so that an
# event's rows are a range of the table's key).
EVENT_ROWS = ("event_actors", "event_tags", "event_related")
ROW_BITS = 16


def cache_folder(environ: Mapping[str, str], home: Path) -> Path:
    """Where indexes live: `$XDG_CACHE_HOME/tracker` when that is an absolute path, else `~/.cache/tracker`."""
    base = environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else home / ".cache") / "tracker"


def index_file(folder: Path, log_path: Path) -> Path:
    """The index of the log at `log_path` (by its real path) inside `folder`."""
    real = os.path.realpath(log_path)
    digest = hashlib.sha1(real.encode("utf-8", "surrogateescape")).hexdigest()[:20]
    return folder / f"{Path(real).stem[:40]}-{digest}.sqlite"


def instant(moment: datetime) -> int:
    """Microseconds since 0001-01-01 of a naive datetime: integers that sort as the datetimes do."""
    seconds = moment.toordinal() * 86400 + moment.hour * 3600 + moment.minute * 60 + moment.second
    return seconds * 1_000_000 + moment.microsecond


def signature(status: os.stat_result) -> list[int]:
    """What stat says about a file's version: device, inode, size, modification and change times."""
    return [status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns]


def block_digest(piece: Any) -> list[Any]:
    """A block's length and SHA-256 digest (hardware-accelerated here: about 1 GB/s).

    A cryptographic digest, so that a rewrite cannot keep a block's digest by accident or
    on purpose (a CRC can be kept by changing a few letters of a summary).
    """
    return [len(piece), hashlib.sha256(piece).hexdigest()[:32]]


def file_digests(handle: Any, lengths: Sequence[int] | None = None) -> list[list[Any]]:
    """The digests of the open binary file `handle` from its current position: in blocks of the given
    `lengths` (then one more for whatever follows), else of BLOCK_SIZE."""
    digests = []
    for length in lengths or ():
        piece = handle.read(length)
        digests.append(block_digest(piece))
        if len(piece) < length:
            return digests
    buffer = bytearray(BLOCK_SIZE)
    view = memoryview(buffer)
    while True:
        size = handle.readinto(buffer)
        if not size:
            return digests
        digests.append(block_digest(view[:size]))


def content_key(blocks: Sequence[Sequence[Any]]) -> str:
    """One key for a file's content, from its block digests."""
    return hashlib.sha256(",".join(f"{length}:{digest}" for length, digest in blocks).encode()).hexdigest()


class IndexUnusable(Exception):
    """This log cannot be answered from an index (unreadable, has errors, or the cache cannot be written)."""


class IndexBroken(Exception):
    """The index turned out to be damaged while answering; it was removed, and the command should read the log."""


class Index:
    """An open, current index of one log."""

    def __init__(self, connection: sqlite3.Connection, path: Path, log_path: Path) -> None:
        self.connection = connection
        self.path = path
        self.log_path = log_path
        self.discarded = False
        self.meta = {key: json.loads(value) for key, value in connection.execute("SELECT key, value FROM meta")}

    def set_meta(self, values: Mapping[str, Any]) -> None:
        """Record `values` in the meta table (the caller commits)."""
        self.meta.update(values)
        self.connection.executemany(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
            [(key, json.dumps(value)) for key, value in values.items()],
        )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back when it raises."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def checked(self) -> bool:
        """Whether what `check` finds in this exact content is known."""
        query = "SELECT 1 FROM checks WHERE content = ?"
        return self.connection.execute(query, (content_key(self.meta["blocks"]),)).fetchone() is not None

    def problems(self, display: str | None = None) -> list[Problem] | None:
        """The problems `check` found in this exact content (located in `display`, else the real path),
        in file order, or None when it was not checked."""
        if not self.checked():
            return None
        rows = self.connection.execute(
            "SELECT line, col, message, severity FROM check_problems"
            " ORDER BY coalesce(line, 0), coalesce(col, 0), ordinal"
        )
        path = display or str(self.log_path)
        return [problem_from(row, path) for row in rows]

    def record_problems(self, problems: Sequence[Problem]) -> None:
        """Remember what `check` found in this exact content (only the latest content is kept)."""
        with contextlib.suppress(sqlite3.Error), self.transaction() as connection:
            keep_problems(connection, self.meta["blocks"], problems)

    def events(self, where: str = "", parameters: Sequence[Any] = (), tail: str = "") -> list[Event]:
        """Events of the rows `where` selects (an SQL condition on `events`), in file order unless `tail` orders."""
        query = "SELECT seq, fields FROM events" + (f" WHERE {where}" if where else "") + (tail or " ORDER BY seq")
        rows = self.rows(query, parameters)
        try:
            return [event_from(seq, fields) for seq, fields in rows]
        except (ValueError, KeyError, TypeError, TrackerError):  # a row damaged on disk
            self.discard()
            raise IndexBroken(str(self.path)) from None

    def rows(self, query: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """The rows of `query`; a damaged index is removed and raises IndexBroken."""
        try:
            return self.connection.execute(query, parameters).fetchall()
        except sqlite3.Error:  # damaged on disk, or already closed as damaged
            self.discard()
            raise IndexBroken(str(self.path)) from None

    def discard(self) -> None:
        """Close and remove this index: it is damaged, and the next command builds it again."""
        self.connection.close()
        if not self.discarded:
            self.discarded = True
            with contextlib.suppress(OSError):
                os.unlink(self.path)

    # Where events stand in the file, for writers.

    def chunks(self, seqs: Sequence[int]) -> list[tuple[int, int, int, int]]:
        """(seq, byte offset, byte size, 0-based line) of each event in `seqs` (ascending): its text runs from the
        start of its first line to the start of the next event's (the last event's, to where new events go)."""
        found = []
        for seq in seqs:
            page = seq >> PAGE_BITS
            before_size, before_lines = self.rows(
                "SELECT total(size), total(lines) FROM pages WHERE page < ?", (page,)
            )[0]
            in_size, in_lines = self.rows(
                "SELECT total(size), total(lines) FROM events WHERE seq >= ? AND seq < ?", (page << PAGE_BITS, seq)
            )[0]
            (size,) = self.rows("SELECT size FROM events WHERE seq = ?", (seq,))[0]
            offset = self.meta["head_size"] + int(before_size) + int(in_size)
            line = self.meta["head_lines"] + int(before_lines) + int(in_lines)
            found.append((seq, offset, size, line))
        return found

    def events_end(self) -> tuple[int, int]:
        """The byte offset and 0-based line where the events list ends (new events go there)."""
        size, lines = self.rows("SELECT total(size), total(lines) FROM pages")[0]
        return self.meta["head_size"] + int(size), self.meta["head_lines"] + int(lines)

    def neighbours(self, seq: int) -> list[int]:
        """The sequence numbers of the events just before and after `seq` (those that exist)."""
        before = self.rows("SELECT max(seq) FROM events WHERE seq < ?", (seq,))[0][0]
        after = self.rows("SELECT min(seq) FROM events WHERE seq > ?", (seq,))[0][0]
        return [found for found in (before, after) if found is not None]

    def last_seqs(self, count: int) -> list[int]:
        """The sequence numbers of the last `count` events, in file order."""
        return sorted(row[0] for row in self.rows("SELECT seq FROM events ORDER BY seq DESC LIMIT ?", (count,)))

    def seqs_of(self, event_ids: Sequence[str]) -> list[int]:
        """The sequence number of each event id (ids that are not in the log are left out)."""
        found = []
        for event_id in event_ids:
            found += [row[0] for row in self.rows("SELECT seq FROM events WHERE id = ?", (event_id,))]
        return found


def event_from(seq: int, fields_json: str) -> Event:
    """The Event of an `events` row."""
    fields = json.loads(fields_json)
    end = fields.get("end")
    return Event(fields, parse_date(fields["date"]), parse_date(end) if end is not None else None, seq)


def connect(database: Path) -> sqlite3.Connection:
    """A connection to the index at `database`, in autocommit mode (transactions are explicit)."""
    connection = sqlite3.connect(database, timeout=10, isolation_level=None)
    connection.execute("PRAGMA synchronous = OFF")  # derived data: a damaged index is detected and rebuilt
    return connection


def current(database: Path, real: Path, status: os.stat_result) -> Index | None:
    """The index at `database` when it is whole, of this schema and log, and the file still holds its content."""
    if not database.exists():
        return None
    connection = None
    try:
        connection = connect(database)
        page_count = connection.execute("PRAGMA page_count").fetchone()[0]
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        if page_count * page_size == database.stat().st_size:  # else truncated
            index = Index(connection, database, real)
            meta = index.meta
            known = meta.get("schema") == SCHEMA_VERSION and meta.get("log") == str(real) and meta.get("complete")
            if known and _unchanged(index, real, status):
                return index
    except (OSError, sqlite3.Error, KeyError, IndexError, ValueError, TypeError):
        pass
    if connection is not None:
        connection.close()
    return None


def _unchanged(index: Index, real: Path, status: os.stat_result) -> bool:
    """Whether the file still holds the content the index was built from (updating what the index knows of it)."""
    meta = index.meta
    same_stat = signature(status) == meta["signature"]
    slack = COARSE_CLOCK_SLACK_NS if status.st_mtime_ns % 1_000_000_000 == 0 else FINE_CLOCK_SLACK_NS
    if same_stat and (meta["pinned"] or max(status.st_mtime_ns, status.st_ctime_ns) < meta["verified_ns"] - slack):
        return True
    if status.st_size != meta["signature"][2]:
        return False
    verified_ns = time.time_ns()
    try:
        with open(real, "rb", buffering=0) as handle:
            before = os.fstat(handle.fileno())
            digests = file_digests(handle, [length for length, _ in meta["blocks"]])
            after = os.fstat(handle.fileno())
    except OSError:
        return False
    if digests != meta["blocks"] or signature(before) != signature(after):
        return False
    with contextlib.suppress(sqlite3.Error), index.connection:
        index.set_meta({"signature": signature(after), "verified_ns": verified_ns, "pinned": False})
    return True


def problem_record(problem: Problem) -> list[Any]:
    """A problem as a row of check_problems (without its path)."""
    return [problem.location.line, problem.location.column, problem.message, problem.severity]


def problem_from(record: Sequence[Any], path: str) -> Problem:
    """The Problem of a check_problems row, located in `path`."""
    line, column, message, severity = record
    return Problem(Location(path, line, column), message, severity)


def keep_problems(
    connection: sqlite3.Connection,
    blocks: Sequence[Sequence[Any]] | None,
    problems: Sequence[Problem],
    *,
    replace: bool = True,
) -> None:
    """Record `problems` (in file order) as what `check` finds in the content with these block digests,
    the only content kept; None forgets any. Without `replace`, they join those already recorded."""
    connection.execute("DELETE FROM checks")
    if replace or blocks is None:
        connection.execute("DELETE FROM check_problems")
    if blocks is None:
        return
    connection.execute("INSERT INTO checks(content) VALUES (?)", (content_key(blocks),))
    connection.executemany(
        "INSERT INTO check_problems(line, col, message, severity) VALUES (?, ?, ?, ?)",
        [problem_record(item) for item in problems],
    )
