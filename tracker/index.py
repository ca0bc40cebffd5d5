"""The index: a log's events in an SQLite file in the user's cache folder, so that a query reads only what it prints.

The log stays the source of truth. The index records which content it was built
from (the file's stat signature and a CRC-32 per MiB of its bytes) and is used only
while the file provably still holds that content: the signature matches and either
the file was last changed well before the index last looked at it, or tracker
wrote this version itself and its stat pins it (see tracker.mounts). When neither
is certain (git's "racily clean" case: a rewrite in the same clock tick keeps size
and time), its bytes must hash the same. Anything else (another signature, a
corrupt, truncated or older index) means a rebuild, into a temporary file renamed
into place, so concurrent readers and writers only ever see a whole index.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import glob
import hashlib
import json
import os
import signal
import sqlite3
import tempfile
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tracker.dates import PartialDate, parse_date
from tracker.errors import Location, Problem, TrackerError
from tracker.model import Event, Log, build_log, normalise_name

SCHEMA_VERSION = 9
BLOCK_SIZE = 1 << 20
# A file changed within this long of the index's last look may share its timestamp with an
# earlier version (timestamps come from a coarse clock): such a file is compared by content.
FINE_CLOCK_SLACK_NS = 50_000_000
COARSE_CLOCK_SLACK_NS = 2_000_000_000
BATCH = 2000
DAY_US = 86_400_000_000

Progress = Callable[[int, int], None]
Window = tuple[int | None, int | None]

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE events(
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL, start INTEGER NOT NULL, stop INTEGER NOT NULL,
    span INTEGER NOT NULL, rank INTEGER NOT NULL, type_key TEXT NOT NULL, fields TEXT NOT NULL
);
CREATE TABLE event_actors(key TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE TABLE event_tags(key TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE TABLE search(seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE checks(content TEXT NOT NULL);
CREATE TABLE check_problems(
    ordinal INTEGER PRIMARY KEY, line INTEGER, col INTEGER, message TEXT NOT NULL, severity TEXT NOT NULL
);
"""
_INDEXES = """
CREATE INDEX events_start ON events(start);
CREATE INDEX events_span ON events(span, start);
CREATE INDEX events_id ON events(id);
CREATE INDEX events_type ON events(type_key);
CREATE INDEX event_actors_key ON event_actors(key, seq);
CREATE INDEX event_tags_key ON event_tags(key, seq);
"""


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


def block_digests(handle: Any, start_block: int = 0) -> list[str]:
    """A CRC-32 of each BLOCK_SIZE piece of the open binary file `handle`, from block `start_block` on.

    A change detector, not a fingerprint against tampering: CRC-32 is twice as fast as
    SHA-1 here and any accidental change of a block shows in it.
    """
    handle.seek(start_block * BLOCK_SIZE)
    buffer = bytearray(BLOCK_SIZE)
    view = memoryview(buffer)
    digests = []
    while True:
        size = handle.readinto(buffer)
        if not size:
            return digests
        digests.append(_block_digest(view[:size]))


def _block_digest(piece: Any) -> str:
    return f"{zlib.crc32(piece):08x}{len(piece):x}"


def content_key(digests: Sequence[str]) -> str:
    """One key for a file's content, from its block digests."""
    return hashlib.sha1(",".join(digests).encode()).hexdigest()


@dataclass
class Insertion:
    """An event's text just inserted at a log's append point, as its writer knows it."""

    event: Event
    log: Log
    size: int  # bytes inserted
    lines: int  # lines inserted
    status: os.stat_result  # the new file's, taken after the rename
    pinned: bool  # nothing else can have written the file before `status` (see tracker.mounts)
    tail_digests: list[str]  # block digests of what was written, from the append point's block to the end


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
        self.meta = {key: json.loads(value) for key, value in connection.execute("SELECT key, value FROM meta")}

    def set_meta(self, values: Mapping[str, Any]) -> None:
        """Record `values` in the meta table (the caller commits)."""
        self.meta.update(values)
        self.connection.executemany(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
            [(key, json.dumps(value)) for key, value in values.items()],
        )

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
        return [_problem(row, path) for row in rows]

    def record_problems(self, problems: Sequence[Problem]) -> None:
        """Remember what `check` found in this exact content (only the latest content is kept)."""
        with contextlib.suppress(sqlite3.Error):
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                _keep_problems(self.connection, self.meta["blocks"], problems)
                self.connection.execute("COMMIT")
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise

    def record_append(self, insertion: Insertion, problems: Sequence[Problem] | None) -> None:
        """Take in an event that was just written at the append point, and the problems `check` finds in it
        (None when the log's were not known): the problems after the append point move down."""
        old = self.meta["append"]
        append = dict(old)
        blocks = self.meta["blocks"][: append["offset"] // BLOCK_SIZE] + insertion.tail_digests
        lines = insertion.lines
        append["offset"] += insertion.size
        append["line"] += lines
        append["lead"] = False
        event = insertion.event
        writer = _Writer(self.connection, str(self.log_path))
        (seq,) = self.connection.execute("SELECT coalesce(max(seq) + 1, 0) FROM events").fetchone()
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            writer.add(Event(event.fields, event.date, event.end, seq), insertion.log)
            vocabulary = writer.vocabulary()
            if self.meta["fts"]:
                self.connection.execute(
                    "INSERT INTO fts(rowid, body) SELECT seq, body FROM search WHERE seq = ?", (seq,)
                )
            for key in ("actor_names", "tags", "types", "fields"):
                vocabulary[key] = list(dict.fromkeys(self.meta[key] + vocabulary[key]))
            vocabulary["spans"] = sorted(set(self.meta["spans"]) | set(vocabulary["spans"]))
            self.set_meta(
                {
                    **vocabulary,
                    "append": append,
                    "blocks": blocks,
                    "signature": signature(insertion.status),
                    "verified_ns": time.time_ns(),
                    "pinned": insertion.pinned,
                }
            )
            if problems is None:
                _keep_problems(self.connection, None, ())
            else:
                self.connection.execute(
                    "UPDATE check_problems SET line = line + ? WHERE line > ? OR (line = ? AND ?)",
                    (lines, old["line"], old["line"], not old["lead"]),
                )
                _keep_problems(self.connection, blocks, problems, replace=False)
            self.connection.execute("COMMIT")
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise

    def log(self, display: str | None = None) -> IndexedLog:
        """The log as the index holds it (named `display`, else by its real path): registries now,
        events as queries ask for them."""
        head = self.meta["head"]
        log, _ = build_log(_head_data(head, self.meta["shape"]), display or str(self.log_path))
        return IndexedLog(self, log)

    def events(self, where: str = "", parameters: Sequence[Any] = (), tail: str = "") -> list[Event]:
        """Events of the rows `where` selects (an SQL condition on `events`), in file order unless `tail` orders."""
        query = "SELECT seq, fields FROM events" + (f" WHERE {where}" if where else "") + (tail or " ORDER BY seq")
        rows = self.rows(query, parameters)
        try:
            return [_event(seq, fields) for seq, fields in rows]
        except (ValueError, KeyError, TypeError, TrackerError):  # a row damaged on disk
            self._discard()
            raise IndexBroken(str(self.path)) from None

    def rows(self, query: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """The rows of `query`; a damaged index is removed and raises IndexBroken."""
        try:
            return self.connection.execute(query, parameters).fetchall()
        except sqlite3.DatabaseError:
            self._discard()
            raise IndexBroken(str(self.path)) from None

    def _discard(self) -> None:
        """Close and remove this index: it is damaged, and the next command builds it again."""
        self.connection.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


def _event(seq: int, fields_json: str) -> Event:
    fields = json.loads(fields_json)
    end = fields.get("end")
    return Event(fields, parse_date(fields["date"]), parse_date(end) if end is not None else None, seq)


def _head_data(head: Any, shape: str) -> Any:
    if shape == "list":
        return _with_marks({"events": []})["events"]
    if shape == "map":
        return _with_marks({**head, "events": []})
    return None


def _with_marks(value: Any) -> Any:
    """Plain values as the reader's shapes (positions all at the start), for build_log."""
    from tracker.nodes import Mark, YamlList, YamlMap

    if isinstance(value, dict):
        mapping = YamlMap((key, _with_marks(inner)) for key, inner in value.items())
        mapping.key_marks = mapping.value_marks = {}
        mapping.value_ends = {}
        mapping.start = mapping.end = Mark((0, 0, 0))
        mapping.flow = False
        return mapping
    if isinstance(value, list):
        items = YamlList(_with_marks(inner) for inner in value)
        items.item_marks = [Mark((0, 0, 0))] * len(items)
        items.start = items.end = Mark((0, 0, 0))
        items.flow = False
        return items
    return value


class IndexedLog(Log):
    """A Log whose events stay in the index until asked for: queries narrow them with SQL."""

    def __init__(self, index: Index, registries: Log) -> None:
        self.index = index
        self._events: list[Event] | None = None
        self._file_log: Log | None = None
        super().__init__(
            path=registries.path,
            actors=registries.actors,
            sources=registries.sources,
            data=registries.data,
            heading=index.meta["heading"],
        )

    @property  # type: ignore[override]
    def events(self) -> list[Event]:
        if self._events is None:
            try:
                self._events = self.index.events()
            except IndexBroken:
                self._events = self._from_file().events
        return self._events

    @events.setter
    def events(self, value: list[Event]) -> None:
        self._events = value or None

    def _from_file(self) -> Log:
        """The log read from its file, for when the index turns out to be damaged midway."""
        if self._file_log is None:
            from tracker.store import load_log

            self._file_log = load_log(Path(self.path))
        return self._file_log

    def event_by_id(self, event_id: str) -> Event | None:
        try:
            found = self.index.events("id = ?", (event_id,), " ORDER BY seq LIMIT 1")
        except IndexBroken:
            return self._from_file().event_by_id(event_id)
        return found[0] if found else None

    def has_event_id(self, event_id: str) -> bool:
        try:
            return bool(self.index.rows("SELECT 1 FROM events WHERE id = ? LIMIT 1", (event_id,)))
        except IndexBroken:
            return self._from_file().has_event_id(event_id)

    def events_dated(self, when: PartialDate) -> list[Event]:
        try:
            found = self.index.events("start = ? AND rank = ?", (instant(when.start), when.precision_rank))
        except IndexBroken:
            return self._from_file().events_dated(when)
        return [event for event in found if event.date == when]

    def events_relating_to(self, event_id: str) -> list[Event]:
        try:
            found = self.index.events("instr(fields, ?) > 0", (_encode(event_id),))
        except IndexBroken:
            return self._from_file().events_relating_to(event_id)
        return [event for event in found if event_id in event.related]

    def event_ids(self) -> list[str]:
        try:
            return [row[0] for row in self.index.rows("SELECT id FROM events ORDER BY seq")]
        except IndexBroken:
            return self._from_file().event_ids()

    def used_actor_names(self) -> list[str]:
        return list(self.index.meta["actor_names"])

    def used_tags(self) -> list[str]:
        return list(self.index.meta["tags"])

    def used_types(self) -> list[str]:
        return list(self.index.meta["types"])

    def used_fields(self) -> list[str]:
        return list(self.index.meta["fields"])

    def _overlap(self, conditions: list[str], parameters: list[Any], windows: list[Window], *, narrow: bool) -> None:
        """Keep events overlapping one of `windows` ([start, stop) instants, None for open ends).

        With `narrow`, also say so in a form the (span, start) index answers: an event of
        span class k starts at most 2^k days before the window does.
        """
        if not windows:
            return
        exact = []
        for start, stop in windows:
            terms = []  # `+` keeps SQLite from scanning an index by these: the ranges below are narrower
            if start is not None:
                terms.append("+stop > ?")
                parameters.append(start)
            if stop is not None:
                terms.append("+start < ?")
                parameters.append(stop)
            exact.append("(" + " AND ".join(terms or ["1"]) + ")")
        conditions.append("(" + " OR ".join(exact) + ")")
        if not narrow:
            return
        if any(start is None for start, _ in windows):
            stops = [stop for _, stop in windows]
            if None not in stops:
                conditions.append("start < ?")
                parameters.append(max(stops))  # type: ignore[type-var]
            return
        ranges = []
        for start, stop in windows:
            for span in self.index.meta["spans"]:
                bounded = " AND start < ?" if stop is not None else ""
                ranges.append(f"SELECT seq FROM events WHERE span = ? AND start > ?{bounded}")
                parameters += [span, start - (DAY_US << span)] + ([stop] if stop is not None else [])
        conditions.append("seq IN (" + (" UNION ALL ".join(ranges) or "SELECT NULL WHERE 0") + ")")

    def candidates(
        self,
        *,
        since: PartialDate | None = None,
        until: PartialDate | None = None,
        on: Sequence[PartialDate] = (),
        actor_keys: Sequence[str] = (),
        tag_keys: Sequence[str] = (),
        type_keys: Sequence[str] = (),
        search: Sequence[str] = (),
        match_all: bool = False,
        newest: int | None = None,
    ) -> list[Event]:
        conditions: list[str] = []
        parameters: list[Any] = []
        windows = [(instant(period.start), instant(period.stop)) for period in on]
        if since is not None or until is not None:
            window = (
                instant(since.start) if since is not None else None,
                instant(until.stop) if until is not None else None,
            )
            if not windows:
                windows = [window]
            self._overlap(conditions, parameters, [window], narrow=False)
        self._overlap(conditions, parameters, windows, narrow=True)
        for table, keys in (("event_actors", actor_keys), ("event_tags", tag_keys)):
            if not keys:
                continue
            groups = [[key] for key in keys] if match_all else [list(keys)]
            for group in groups:
                marks = ", ".join("?" for _ in group)
                conditions.append(f"seq IN (SELECT seq FROM {table} WHERE key IN ({marks}))")
                parameters += group
        if type_keys:
            conditions.append(f"type_key IN ({', '.join('?' for _ in type_keys)})")
            parameters += list(type_keys)
        if search:
            matching = []
            for needle in search:
                if self.index.meta["fts"] and len(needle) >= 3:
                    # The rows holding every trigram of the needle, then those holding the needle itself.
                    trigrams = dict.fromkeys(needle[start : start + 3] for start in range(len(needle) - 2))
                    matching.append(
                        "SELECT seq FROM search WHERE seq IN (SELECT rowid FROM fts WHERE fts MATCH ?)"
                        " AND instr(body, ?) > 0"
                    )
                    parameters += [" AND ".join('"' + trigram.replace('"', '""') + '"' for trigram in trigrams), needle]
                else:
                    matching.append("SELECT seq FROM search WHERE instr(body, ?) > 0")
                    parameters.append(needle)
            conditions.append(f"seq IN ({' UNION '.join(matching)})")
        tail = ""
        if newest is not None:
            tail = " ORDER BY start DESC, rank DESC, id DESC, seq DESC LIMIT ?"
            parameters.append(newest)
        try:
            return self.index.events(" AND ".join(conditions), parameters, tail)
        except IndexBroken:
            return self._from_file().events


def open_index(folder: Path, log_path: Path, *, progress: Progress | None = None, build: bool = True) -> Index:
    """The current index of the log at `log_path`, built or rebuilt first when it is missing or out of date.

    Raises IndexUnusable when the log cannot be served from an index (or, without
    `build`, has no current one): the caller then reads the file itself (and reports
    whatever is wrong with it).
    """
    real = Path(os.path.realpath(log_path))
    try:
        status = real.stat()
    except OSError:
        raise IndexUnusable from None
    database = index_file(folder, real)
    index = _current(database, real, status)
    if index is not None:
        return index
    if not build:
        raise IndexUnusable
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        raise IndexUnusable from None
    _build(database, real, str(log_path), progress)
    index = _current(database, real, real.stat())
    if index is None:
        raise IndexUnusable  # the file changed while it was being indexed: read it directly this time
    return index


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


def _connect(database: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(database, timeout=10, isolation_level=None)
    connection.execute("PRAGMA synchronous = OFF")  # derived data: a damaged index is detected and rebuilt
    return connection


def _current(database: Path, real: Path, status: os.stat_result) -> Index | None:
    """The index at `database` when it is whole, of this schema and log, and the file still holds its content."""
    if not database.exists():
        return None
    connection = None
    try:
        connection = _connect(database)
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
            digests = block_digests(handle)
            after = os.fstat(handle.fileno())
    except OSError:
        return False
    if digests != meta["blocks"] or signature(before) != signature(after):
        return False
    with contextlib.suppress(sqlite3.Error), index.connection:
        index.set_meta({"signature": signature(after), "verified_ns": verified_ns, "pinned": False})
    return True


def _build(database: Path, real: Path, display: str, progress: Progress | None) -> None:
    """Index the log into a temporary file beside `database`, then rename it into place."""
    from tracker.store import decode

    try:
        with open(real, "rb") as handle:
            before = os.fstat(handle.fileno())
            verified_ns = time.time_ns()
            raw = handle.read()
            view = memoryview(raw)
            digests = [_block_digest(view[start : start + BLOCK_SIZE]) for start in range(0, len(raw), BLOCK_SIZE)]
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
        connection = _connect(Path(temporary))
        try:
            connection.execute("PRAGMA journal_mode = OFF")
            connection.executescript(_SCHEMA)
            connection.execute("BEGIN")
            writer = _Writer(connection, display)
            collecting = gc.isenabled()
            gc.disable()  # a build allocates many objects and frees each as it goes: no cycles to collect
            try:
                facts = _fill(writer, text, display, progress)
            finally:
                if collecting:
                    gc.enable()
            if facts["append"] is not None and bom:
                facts["append"]["offset"] += len("\ufeff".encode())
            for statement in _INDEXES.strip().split(";\n"):
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
            rows = [(key, json.dumps(value)) for key, value in meta.items()]
            connection.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", rows)
            if writer.problems is not None:
                _keep_problems(connection, digests, writer.problems)
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


class _Writer:
    """Rows of events, written in batches, and what the log's vocabulary is."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self.connection = connection
        self.path = path
        self.events: list[tuple[Any, ...]] = []
        self.actors: list[tuple[str, int]] = []
        self.tags: list[tuple[str, int]] = []
        self.search: list[tuple[int, str]] = []
        self.actor_names: dict[str, None] = {}
        self.tag_names: dict[str, None] = {}
        self.types: dict[str, None] = {}
        self.fields: dict[str, None] = {}
        self.spans: set[int] = set()
        self.problems: list[Problem] | None = None
        self.flagged: list[int] = []  # positions of the events whose own check found something

    def add(self, event: Event, log: Log) -> None:
        from tracker.query import searchable_text

        seq = event.index
        fields = event.fields
        start, stop = instant(event.start), instant(event.stop)
        span = max(0, ((stop - start - 1) // DAY_US).bit_length())
        kind = event.type
        self.events.append(
            (seq, event.id, start, stop, span, event.date.precision_rank, normalise_name(kind), _encode(fields))
        )
        self.spans.add(span)
        actors = event.actors
        if actors:
            canonical = log.canonical_actor
            self.actors += [(key, seq) for key in {normalise_name(canonical(name)) for name in actors}]
            self.actor_names.update(dict.fromkeys(actors))
        tags = event.tags
        if tags:
            self.tags += [(key, seq) for key in {normalise_name(tag) for tag in tags}]
            self.tag_names.update(dict.fromkeys(tags))
        self.search.append((seq, searchable_text(event)))
        if kind:
            self.types[kind] = None
        self.fields.update(dict.fromkeys(fields))
        if len(self.events) >= BATCH:
            self.flush()

    def flush(self) -> None:
        execute = self.connection.executemany
        execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self.events)
        execute("INSERT INTO event_actors(key, seq) VALUES (?, ?)", self.actors)
        execute("INSERT INTO event_tags(key, seq) VALUES (?, ?)", self.tags)
        execute("INSERT INTO search(seq, body) VALUES (?, ?)", self.search)
        self.events, self.actors, self.tags, self.search = [], [], [], []

    def vocabulary(self) -> dict[str, Any]:
        self.flush()
        return {
            "actor_names": list(self.actor_names),
            "tags": list(self.tag_names),
            "types": list(self.types),
            "fields": list(self.fields),
            "spans": sorted(self.spans),
        }


_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":")).encode


def _fill(writer: _Writer, text: str, display: str, progress: Progress | None) -> dict[str, Any]:
    """Write every event's rows; the facts for meta (registries, vocabulary, where new events go)."""
    from tracker.fastread import FAST_THRESHOLD, NeedsWholeFile, open_block
    from tracker.store import first_comment

    block = open_block(text, display) if len(text) >= FAST_THRESHOLD else None
    if block is not None:
        try:
            facts = _fill_streaming(writer, block, display, progress)
        except NeedsWholeFile:
            connection = writer.connection
            connection.execute("ROLLBACK")
            connection.execute("BEGIN")
            for table in ("events", "event_actors", "event_tags", "search"):
                connection.execute(f"DELETE FROM {table}")  # a helper's rows were committed already
            writer.__init__(connection, display)  # type: ignore[misc]
            block = None
    if block is None:
        facts = _fill_whole(writer, text, display)
    facts.update(writer.vocabulary())
    facts["heading"] = first_comment(text)
    return facts


def _fill_whole(writer: _Writer, text: str, display: str) -> dict[str, Any]:
    from tracker.check import check_log
    from tracker.nodes import YamlList, plain
    from tracker.store import parse_text

    try:
        log, problems = parse_text(text, display)
    except TrackerError:
        raise IndexUnusable from None
    if any(problem.is_error for problem in problems):
        raise IndexUnusable  # unreadable events: reading the log whole reports them
    problems = check_log(log, problems)
    for event in log.events:
        writer.add(_plain_event(event), log)
    writer.problems = problems
    data = log.data
    head = {key: plain(value) for key, value in data.items() if key != "events"} if isinstance(data, dict) else {}
    shape = "list" if isinstance(data, YamlList) else "map" if isinstance(data, dict) else "none"
    return {
        "head": head,
        "shape": shape,
        "append": _append_point(text, data),
        "check_errors": any(problem.is_error for problem in problems),
    }


def _plain_event(event: Event) -> Event:
    from tracker.nodes import plain

    return Event(plain(event.fields), event.date, event.end, event.index)


def _fill_streaming(writer: _Writer, block: Any, display: str, progress: Progress | None) -> dict[str, Any]:
    from tracker.check import EventChecker, check_log
    from tracker.nodes import YamlList, plain

    head = block.head
    registries, head_problems = build_log(head, display)
    problems = check_log(registries, block.problems + head_problems)
    if any(problem.is_error for problem in problems):
        raise IndexUnusable
    checker = EventChecker(registries)
    total = len(block)
    half = total // 2 if total >= PARALLEL_MINIMUM and hasattr(os, "fork") and (os.cpu_count() or 1) > 1 else total
    helper = _start_helper(writer, block, registries, half, total) if half < total else None
    try:
        usable = _index_events(writer, checker, block, registries, 0, half, progress, total)
    except BaseException:
        if helper is not None:
            _abandon(helper)
        raise
    helped = _join_helper(writer, checker, helper) if helper is not None else {}
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
    writer.problems = None
    if not check_errors:
        located = _located_warnings(block, registries, writer.flagged, problems)
        if located is not None and (helper is None or helped.get("located") is not None):
            from tracker.check import by_position

            theirs = [_problem(record, display) for record in helped.get("located") or []]
            writer.problems = sorted(located + theirs, key=by_position)
    last = [block.item(position) for position in range(max(total - 2, 0), total)]
    events = YamlList(last)
    events.item_marks = [item.start for item in last]
    events.flow = False
    head_view = {key: plain(value) for key, value in head.items() if key != "events"}
    return {
        "head": head_view,
        "shape": "map",
        "append": _append_from(block.text, events),
        "check_errors": check_errors,
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


# From this many events on, a second process indexes the second half of the log.
PARALLEL_MINIMUM = 20_000


def _index_events(
    writer: _Writer,
    checker: Any,
    block: Any,
    registries: Log,
    start: int,
    stop: int,
    progress: Progress | None = None,
    total: int = 0,
) -> bool:
    """Index events [start, stop) of `block`; False as soon as one is unusable (the log has errors)."""
    from tracker.model import _build_event
    from tracker.nodes import Mark

    nowhere = Mark((0, 0, 0))
    display = writer.path
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
            writer.flagged.append(position)
        writer.add(event, registries)
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


def _start_helper(writer: _Writer, block: Any, registries: Log, start: int, stop: int) -> tuple[int, Path]:
    """Fork a process that indexes events [start, stop) into a database of its own; its pid and that database."""
    from tracker.check import EventChecker
    from tracker.fastread import NeedsWholeFile

    database = Path(writer.connection.execute("PRAGMA database_list").fetchone()[2] + ".helper")
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid, database
    status = 1
    try:
        _stop_with(parent)
        holder = os.open(database, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(holder, fcntl.LOCK_EX)  # held until this process ends (see _remove_stray_builds)
        connection = _connect(database)
        connection.execute("PRAGMA journal_mode = OFF")
        connection.executescript(_SCHEMA)
        connection.execute("BEGIN")
        helper = _Writer(connection, writer.path)
        checker = EventChecker(registries)
        result: dict[str, Any] = {}
        try:
            result["unusable"] = not _index_events(helper, checker, block, registries, start, stop)
        except NeedsWholeFile:
            result["whole"] = True
        result.update(
            vocabulary=helper.vocabulary(),
            ids=sorted(checker.ids),
            related=[related for _, related in checker.references],
            errors=any(problem.is_error for problem in checker.problems),
        )
        located = None
        if not result["errors"] and not result.get("unusable") and not result.get("whole"):
            located = _located_warnings(block, registries, helper.flagged, [])  # in parallel with the main half
        result["located"] = None if located is None else [_problem_record(problem) for problem in located]
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


def _join_helper(writer: _Writer, checker: Any, helper: tuple[int, Path]) -> dict[str, Any]:
    """Wait for the helper, take its rows and what it learned into `writer` and `checker`."""
    pid, database = helper
    try:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise IndexUnusable
        connection = writer.connection
        writer.flush()
        connection.execute("COMMIT")
        connection.execute("ATTACH DATABASE ? AS helper", (str(database),))
        try:
            (value,) = connection.execute("SELECT value FROM helper.meta WHERE key = 'helper'").fetchone()
            result = json.loads(value)
            connection.execute("BEGIN")
            for table in ("events", "event_actors", "event_tags", "search"):
                connection.execute(f"INSERT INTO {table} SELECT * FROM helper.{table}")
            connection.execute("COMMIT")
        finally:
            connection.execute("DETACH DATABASE helper")
            connection.execute("BEGIN")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(database)
    vocabulary = result["vocabulary"]
    writer.actor_names.update(dict.fromkeys(vocabulary["actor_names"]))
    writer.tag_names.update(dict.fromkeys(vocabulary["tags"]))
    writer.types.update(dict.fromkeys(vocabulary["types"]))
    writer.fields.update(dict.fromkeys(vocabulary["fields"]))
    writer.spans.update(vocabulary["spans"])
    duplicated = checker.ids & set(result["ids"])
    checker.ids.update(result["ids"])
    unresolved = [related for related in result["related"] if related not in checker.ids]
    result["errors"] = result.get("errors") or bool(duplicated or unresolved)  # both are errors
    return result


def _append_point(text: str, data: Any) -> dict[str, Any] | None:
    from tracker.splice import events_list

    events = events_list(data)
    if not events or events.flow:
        return None
    return _append_from(text, events)


def _append_from(text: str, events: Any) -> dict[str, Any]:
    """Where `add` puts new events and how it writes them, as insert_events would (see splice.py)."""
    from tracker.splice import append_prefix, dash_column, end_of_item, last_item_text, reads_differently
    from tracker.store import newline_of

    column = dash_column(text, events.item_marks[-1].index)
    insert_at = end_of_item(text, events[-1], column)
    newline = newline_of(text)
    lead, separator = append_prefix(text, events, insert_at, newline)
    last_item = last_item_text(text, events, insert_at)
    return {
        "offset": len(text[:insert_at].encode("utf-8")),
        "line": text.count("\n", 0, insert_at) + 1,
        "column": column,
        "separator": bool(separator),
        "lead": bool(lead),
        # a block scalar ending the file's last line gains a line break when the line is ended
        "lead_changes": bool(lead) and reads_differently(last_item, last_item + lead),
        "newline": newline,
    }


def _problem_record(problem: Problem) -> list[Any]:
    return [problem.location.line, problem.location.column, problem.message, problem.severity]


def _problem(record: Sequence[Any], path: str) -> Problem:
    line, column, message, severity = record
    return Problem(Location(path, line, column), message, severity)


def _keep_problems(
    connection: sqlite3.Connection,
    blocks: Sequence[str] | None,
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
        [_problem_record(item) for item in problems],
    )
