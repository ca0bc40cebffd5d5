"""Taking in a write: the rows of the events a writer changed, removed or added, and what the index knows
of the new file, so that the next command finds the index current without reading the log."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tracker.errors import Problem
from tracker.index.database import (
    EVENT_ROWS,
    PAGE_BITS,
    ROW_BITS,
    Index,
    content_key,
    event_from,
    problem_record,
    signature,
)
from tracker.index.rows import Rows, event_names
from tracker.model import Event, Log, normalise_name

_UNKNOWN_ACTOR = re.compile(r"actor '(.*)' is not in the actors registry")


@dataclass
class ProblemChange:
    """How what `check` finds changes with a write: the recorded problems on the old file's lines in
    `dropped` (1-based, inclusive ranges) give way to `found` (on the new file's lines), and those after
    each (old line, lines gained) of `shifts` move down by that many lines."""

    dropped: list[tuple[int, int]]
    shifts: list[tuple[int, int]]
    found: list[Problem]


@dataclass
class Written:
    """What a writer did to a log the index describes, as the writer knows it."""

    removed: list[int]  # sequence numbers of events removed
    chunks: dict[int, tuple[int, int]]  # every event whose text was read or written: seq -> (bytes, lines) now
    values: dict[int, Event]  # events whose values changed or that are new (seqs past the last): seq -> event
    log: Log  # the registries the events resolve their actors by, after the write
    layout: dict[str, Any]  # head_size, head_lines, prelude, prelude_line after the write
    blocks: list[list[Any]]  # the new file's block digests
    status: os.stat_result  # the new file's stat, taken after the rename
    pinned: bool  # nothing else can have written the file before `status` (see tracker.mounts)
    head: dict[str, Any] | None = None  # the head's values, when the write changed them
    new_actor_keys: dict[str, str] = field(default_factory=dict)  # names the registry gained -> their actor
    problems: ProblemChange | None = None  # None when the write does not know how check's findings change


def record_write(index: Index, written: Written) -> None:
    """Take in `written`: the index then describes the new file, as if it had been built from it."""
    connection = index.connection
    changed = [seq for seq in written.values if seq in written.chunks]
    gone = sorted(set(written.removed) | set(changed))
    old: dict[int, tuple[Any, ...]] = {}
    for seq in sorted(set(gone) | set(written.chunks)):
        row = connection.execute("SELECT fields, size, lines FROM events WHERE seq = ?", (seq,)).fetchone()
        if row is not None:
            old[seq] = row
    checked = index.checked()
    with index.transaction():
        pages: dict[int, list[int]] = {}

        def move(seq: int, size: int, lines: int) -> None:
            sums = pages.setdefault(seq >> PAGE_BITS, [0, 0])
            sums[0] += size
            sums[1] += lines

        old_events = {seq: event_from(seq, old[seq][0]) for seq in gone if seq in old}
        if index.meta["fts"]:
            connection.executemany(
                "INSERT INTO fts(fts, rowid, body) SELECT 'delete', seq, body FROM search WHERE seq = ?",
                [(seq,) for seq in old_events],
            )
        for table in ("events", "search"):
            connection.executemany(f"DELETE FROM {table} WHERE seq = ?", [(seq,) for seq in old_events])
        for table in EVENT_ROWS:
            connection.executemany(
                f"DELETE FROM {table} WHERE row >= ? AND row < ?",
                [(seq << ROW_BITS, (seq + 1) << ROW_BITS) for seq in old_events],
            )
        for seq in written.removed:
            if seq in old:
                move(seq, -old[seq][1], -old[seq][2])
        rows = Rows(connection, str(index.log_path))
        for seq, event in sorted(written.values.items()):
            size, lines = written.chunks[seq]
            rows.add(Event(event.fields, event.date, event.end, seq), written.log, size, lines)
        rows.flush()
        for seq, (size, lines) in written.chunks.items():
            before = old.get(seq)
            if before is not None:
                move(seq, size - before[1], lines - before[2])
            else:
                move(seq, size, lines)
            if seq not in written.values:
                connection.execute("UPDATE events SET size = ?, lines = ? WHERE seq = ?", (size, lines, seq))
        for page, (size, lines) in pages.items():
            connection.execute("INSERT OR IGNORE INTO pages(page, size, lines) VALUES (?, 0, 0)", (page,))
            connection.execute(
                "UPDATE pages SET size = size + ?, lines = lines + ? WHERE page = ?", (size, lines, page)
            )
        if index.meta["fts"]:
            connection.executemany(
                "INSERT INTO fts(rowid, body) SELECT seq, body FROM search WHERE seq = ?",
                [(seq,) for seq in written.values],
            )
        _update_vocabulary(connection, list(old_events.values()), rows)
        for key, name in written.new_actor_keys.items():
            connection.execute(
                "UPDATE event_actors SET key = ?, name = ? WHERE key = ?", (normalise_name(name), name, key)
            )
        if written.new_actor_keys:  # an event that named an actor two ways, now both the same actor: once
            connection.execute(
                "DELETE FROM event_actors WHERE row NOT IN (SELECT min(row) FROM event_actors GROUP BY seq, name)"
            )
        facts: dict[str, Any] = {
            **written.layout,
            "blocks": written.blocks,
            "signature": signature(written.status),
            "verified_ns": time.time_ns(),
            "pinned": written.pinned,
            "spans": sorted(set(index.meta["spans"]) | rows.spans),
            "check_errors": False,
        }
        if written.head is not None:
            facts["head"] = written.head
        index.set_meta(facts)
        connection.execute("DELETE FROM checks")
        if checked and written.problems is not None:
            _update_problems(connection, written.problems, written.new_actor_keys)
            connection.execute("INSERT INTO checks(content) VALUES (?)", (content_key(written.blocks),))
        else:
            connection.execute("DELETE FROM check_problems")


def _update_vocabulary(connection: Any, old_events: Sequence[Event], rows: Rows) -> None:
    """The vocabulary after `old_events` gave way to the events `rows` wrote: use counts, and where each
    name is first used (found again only when the event that used it first let it go)."""
    gone_seqs = {event.index for event in old_events}
    touched: set[tuple[str, str]] = set()
    for event in old_events:
        for kind, names in event_names(event).items():
            for name in names:
                connection.execute("UPDATE vocabulary SET uses = uses - 1 WHERE kind = ? AND name = ?", (kind, name))
                touched.add((kind, name))
    settled: set[tuple[str, str]] = set()
    for kind, counts in rows.uses.items():
        for name, count in counts.items():
            first = rows.first[kind][name]
            row = connection.execute(
                "SELECT first_seq, first_pos FROM vocabulary WHERE kind = ? AND name = ?", (kind, name)
            ).fetchone()
            if row is None:
                connection.execute(
                    "INSERT INTO vocabulary(kind, name, first_seq, first_pos, uses) VALUES (?, ?, ?, ?, ?)",
                    (kind, name, *first, count),
                )
                settled.add((kind, name))
                continue
            connection.execute("UPDATE vocabulary SET uses = uses + ? WHERE kind = ? AND name = ?", (count, kind, name))
            known = tuple(row)
            # The event that used it first still does (rewritten in place), or an earlier one now does.
            if (known[0] in gone_seqs and first[0] == known[0]) or (known[0] not in gone_seqs and first < known):
                connection.execute(
                    "UPDATE vocabulary SET first_seq = ?, first_pos = ? WHERE kind = ? AND name = ?",
                    (*first, kind, name),
                )
                settled.add((kind, name))
            touched.add((kind, name))
    connection.execute("DELETE FROM vocabulary WHERE uses <= 0")
    for kind, name in touched - settled:
        row = connection.execute(
            "SELECT first_seq FROM vocabulary WHERE kind = ? AND name = ?", (kind, name)
        ).fetchone()
        if row is None or row[0] not in gone_seqs:
            continue
        seq = _first_use(connection, kind, name)
        if seq is None:
            connection.execute("DELETE FROM vocabulary WHERE kind = ? AND name = ?", (kind, name))
            continue
        (fields_json,) = connection.execute("SELECT fields FROM events WHERE seq = ?", (seq,)).fetchone()
        used = event_names(event_from(seq, fields_json))[kind]
        connection.execute(
            "UPDATE vocabulary SET first_seq = ?, first_pos = ? WHERE kind = ? AND name = ?",
            (seq, used.index(name) if name in used else 0, kind, name),
        )


def _first_use(connection: Any, kind: str, name: str) -> int | None:
    """The first event (by sequence number) that uses `name` as a `kind`."""
    if kind == "actor":  # the events whose text holds the name, then the first that names it as an actor
        query = "SELECT seq, fields FROM events WHERE instr(fields, ?) > 0 ORDER BY seq"
        rows = connection.execute(query, (json.dumps(name, ensure_ascii=False),))
        return next((seq for seq, fields in rows if name in event_from(seq, fields).actors), None)
    if kind == "tag":
        query, parameters = "SELECT min(seq) FROM event_tags WHERE name = ?", (name,)
    elif kind == "type":
        query = "SELECT min(seq) FROM events WHERE type_key = ? AND type_name = ?"
        parameters = (normalise_name(name), name)
    else:
        query, parameters = "SELECT min(seq) FROM events WHERE instr(fields, ?) > 0", (json.dumps(name) + ":",)
    return connection.execute(query, parameters).fetchone()[0]


def _update_problems(connection: Any, change: ProblemChange, new_actor_keys: dict[str, str]) -> None:
    for first, last in change.dropped:
        connection.execute("DELETE FROM check_problems WHERE line >= ? AND line <= ?", (first, last))
    for after, lines in sorted(change.shifts, reverse=True):
        if lines:
            connection.execute("UPDATE check_problems SET line = line + ? WHERE line > ?", (lines, after))
    if new_actor_keys:
        stale = [
            (ordinal,)
            for ordinal, message in connection.execute(
                "SELECT ordinal, message FROM check_problems WHERE message LIKE 'actor %'"
            )
            if (match := _UNKNOWN_ACTOR.fullmatch(message)) and normalise_name(match[1]) in new_actor_keys
        ]
        connection.executemany("DELETE FROM check_problems WHERE ordinal = ?", stale)
    connection.executemany(
        "INSERT INTO check_problems(line, col, message, severity) VALUES (?, ?, ?, ?)",
        [problem_record(problem) for problem in change.found],
    )
