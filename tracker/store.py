"""The one write path: lock, splice, verify in context, check, atomic replace, and the index kept current.

Every change (add, edit, rm, import, registry entries) is a Change: it says which
events it needs to see (`wants`), then, given a document holding them, plans the
splices that make it and the document expected after them (`plan`). Under the
lock, with a current index, the document is an excerpt of the log (see
tracker.excerpt): only those events' lines, their neighbours and the text around
them are read, parsed, spliced, parsed again and compared with what the plan
expects, the changed events are checked against the index (ids, `related` both
ways, registries), and the untouched bytes are copied around the new text in the
kernel. Without an index, or whenever the excerpt cannot vouch for the change (a
log with errors, line breaks other than LF and CRLF, a change that reads
differently in context), the same change runs on the whole file instead, which
reads, checks and verifies everything and reports what is wrong. Either way the
new file replaces the old one by an atomic rename, and a crash at any point
leaves the old file or the new one.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import json
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tracker.errors import Location, LogError, Problem, TrackerError, UsageError
from tracker.logfile import LogFile, document_view, parse_text, raise_first_error, read_log
from tracker.model import Log
from tracker.safefile import (
    atomic_write,
    close_quietly,
    copy_and_flush,
    join_through_interrupt,
    locked,
    refuse_read_only,
    replace_file,
    write_all,
    write_error,
)
from tracker.splice import Splice, apply_splices

if TYPE_CHECKING:
    from tracker.excerpt import Excerpt
    from tracker.index import Index

__all__ = ["Change", "Changed", "Plan", "Wants", "atomic_write", "change_log", "locked"]

Progress = Callable[[int, int], None]


@dataclass
class Wants:
    """What a change needs to see of the log besides its registries: events by id (each with the events
    around it), the end of the events list (appends), the text before the events (registry changes)."""

    event_ids: Sequence[str] = ()
    end: bool = False
    head: bool = False


@dataclass
class Plan:
    """A change as text splices, and the whole document expected after them (see document_view).

    `positions` says, for each event of the expected document, which event of the
    document before it is (its position there), or None for a new event.
    """

    splices: list[Splice]
    expected: dict[str, Any]
    positions: list[int | None]
    details: Any = None


class Change(Protocol):
    """A change to a log, as the write path asks for it."""

    may_fix: bool  # it may be written to a log with errors when it leaves none (edit, rm)

    def wants(self, log: Log) -> Wants:
        """What of the log the change needs to see; `log` answers questions about all of it."""
        ...

    def plan(self, document: LogFile, log: Log) -> Plan:
        """The splices of `document` (the log, or an excerpt holding what `wants` asked for) that make the
        change; `log` answers questions about the whole log (registries, ids, events elsewhere)."""
        ...


@dataclass
class Changed:
    """What a change wrote (or, with dry_run, would write).

    `log` answers questions about the log after the change (its registries and events);
    `pieces` are the stretches of text that may have changed: (0-based line in the old
    file, old text, new text).
    """

    plan: Plan
    log: Log
    warnings: list[Problem]
    pieces: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        """Whether the change leaves the file as it was."""
        return all(before == after for _, before, after in self.pieces)

    def diff(self, path: str) -> str:
        """A unified diff of the change, as `git diff` shows it."""
        hunks: list[str] = []
        gained = 0
        for line, before, after in self.pieces:
            if before == after:
                continue
            lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True), n=3)
            for text in list(lines)[2:]:
                header = _HUNK.match(text)
                if header:
                    old_start, old_length, new_start, new_length = header.groups()
                    text = (
                        f"@@ -{int(old_start) + line}{old_length or ''}"
                        f" +{int(new_start) + line + gained}{new_length or ''} @@\n"
                    )
                hunks.append(text if text.endswith("\n") else text + "\n\\ No newline at end of file\n")
            gained += after.count("\n") - before.count("\n")
        return f"--- {path}\n+++ {path}\n" + "".join(hunks) if hunks else ""


_HUNK = re.compile(r"@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")


def change_log(
    path: Path,
    change: Change,
    *,
    index_folder: Path | None = None,
    dry_run: bool = False,
    on_wait: Callable[[], None] | None = None,
    progress: Progress | None = None,
) -> Changed:
    """Make `change` to the log at `path` through the one safe write path (see the module's docstring).

    With `index_folder`, the log's index there is used (built first when missing or out of
    date, `progress` told how far along) and kept current. A log with errors is only
    written to by a change that `may_fix` and leaves it with none. With `dry_run`
    everything happens but the write.
    """
    path = Path(path)
    real = Path(os.path.realpath(path))
    if not real.parent.is_dir():
        raise UsageError(f"{path}: folder {real.parent} does not exist")
    if real.exists() and not real.is_file():
        raise UsageError(f"{path}: not a regular file; tracker writes only to a plain file")
    with contextlib.nullcontext() if dry_run else locked(real, on_wait):
        if index_folder is not None and real.is_file():
            changed = _through_index(path, real, index_folder, change, dry_run=dry_run, progress=progress)
            if changed is not None:
                return changed
        return _whole(path, change, dry_run=dry_run)


def read_document(
    path: Path,
    want: Callable[[Log], Wants],
    *,
    index_folder: Path | None = None,
    progress: Progress | None = None,
) -> tuple[LogFile, Log]:
    """A document holding what `want` asks for (given a Log answering for the whole log), and that Log:
    an excerpt read through the index where it can vouch for one, else the whole file. For showing
    what a change will start from; the change itself reads again under the lock."""
    from tracker.index import IndexUnusable, indexed_log, open_index

    if index_folder is not None:
        try:
            index = open_index(index_folder, path, progress=progress)
        except IndexUnusable:
            index = None
        if index is not None and index.meta["writable"] and not index.meta["check_errors"]:
            log = indexed_log(index, str(path))
            wants = want(log)
            with contextlib.suppress(OSError):
                source = os.open(os.path.realpath(path), os.O_RDONLY)
                try:
                    excerpt = _excerpt(index, source, wants)
                    document = _document(excerpt, index, str(path)) if excerpt is not None else None
                finally:
                    os.close(source)
                if document is not None:
                    return document, log
    current = read_log(path)
    return current, current.log


def _whole(path: Path, change: Change, *, dry_run: bool) -> Changed:
    """The change made on the whole file: read, parse, check, splice, parse again, verify, check, replace."""
    from tracker.check import check_log

    current = read_log(path, missing_ok=True)
    _refuse_odd_line_breaks(current)
    old_errors = [problem for problem in check_log(current.log, current.problems) if problem.is_error]
    if old_errors and not change.may_fix:
        raise_first_error(old_errors)
    try:
        plan = change.plan(current, current.log)
    except TrackerError:
        raise_first_error(old_errors)  # a broken log explains a failed plan better
        raise
    text = apply_splices(current.text, plan.splices)
    try:
        new_log, new_problems = parse_text(text, current.path)
    except LogError as error:
        raise LogError(
            f"cannot change this log: the new text would not parse ({error.message}); nothing was written",
            Location(current.path),
        ) from None
    if document_view(new_log.data) != plan.expected:
        raise LogError(
            "internal check failed: the new text would not hold exactly the intended change; "
            "nothing was written (please report this)",
            Location(current.path),
        )
    new_problems = check_log(new_log, new_problems)
    # A log with errors is only written to by a change that leaves it with none (a fix).
    new_errors = [problem for problem in new_problems if problem.is_error]
    if new_errors:
        raise_first_error(old_errors or new_errors)
    warnings = [problem for problem in new_problems if not problem.is_error]
    if not dry_run and text != current.text:
        atomic_write(path, (("\ufeff" if current.bom else "") + text).encode("utf-8"))
    return Changed(plan, new_log, warnings, [(0, current.text, text)])


_ODD_BREAK = re.compile("\r(?!\n)|[\x85\u2028\u2029]")
_BREAK_NAMES = {
    "\r": "a lone CR",
    "\x85": "NEL (U+0085)",
    "\u2028": "U+2028 LINE SEPARATOR",
    "\u2029": "U+2029 PARAGRAPH SEPARATOR",
}


def _refuse_odd_line_breaks(current: LogFile) -> None:
    """Refuse to change a log that breaks a line with anything but LF or CRLF: YAML reads a lone CR, NEL,
    U+2028 and U+2029 as line breaks, editors and tracker's splicing do not, so a change could land in the
    wrong place. Says where the first one is and what to do."""
    from tracker.yamltext import location_at

    found = _ODD_BREAK.search(current.text)
    if found is None:
        return
    character = found.group()
    if character == "\r":
        advice = "convert its line endings to LF or CRLF to change it"
    else:
        advice = f"replace it with a space or a line break, or write it as \\u{ord(character):04x} in double quotes"
    raise LogError(
        f"the log breaks a line with {_BREAK_NAMES[character]}, which YAML reads as a line break and tracker "
        f"cannot splice around; {advice}",
        location_at(current.text, current.path, found.start()),
    )


class _HandOver(Exception):
    """The excerpt cannot vouch for this change: the whole-file path makes it."""


@dataclass
class _Prepared:
    """A change planned, spliced, verified and checked on an excerpt, ready to be written."""

    plan: Plan
    texts: list[str]  # each segment's new text
    warnings: list[Problem]
    written: Callable[..., Any]  # what the index takes in once the file is written, given its digests and stat
    registries_changed: bool


def _through_index(
    path: Path, real: Path, folder: Path, change: Change, *, dry_run: bool, progress: Progress | None
) -> Changed | None:
    """The change made through the log's index, reading only what it needs; None when the index cannot
    vouch for it (then the whole-file path makes it)."""
    from tracker.index import IndexBroken, IndexUnusable, open_index

    try:
        index = open_index(folder, path, progress=progress)
    except IndexUnusable:
        return None
    meta = index.meta
    if not meta["writable"] or meta["check_errors"]:
        return None
    try:
        return _through(path, real, index, change, dry_run=dry_run)
    except IndexBroken:
        return None  # damaged on disk: removed, and rebuilt by the next command


def _through(path: Path, real: Path, index: Index, change: Change, *, dry_run: bool) -> Changed | None:
    from tracker.index import indexed_log, signature

    display = str(path)
    meta = index.meta
    log = indexed_log(index, display)
    wants = change.wants(log)
    try:
        source = os.open(real, os.O_RDONLY)
    except OSError as error:
        raise LogError(f"cannot read: {error.strerror or error}; nothing was changed", Location(display)) from None
    try:
        old = os.fstat(source)
        expected = meta["signature"]
        if signature(old) != expected:
            return None
        excerpt = _excerpt(index, source, wants)
        if excerpt is None:
            return None
        document = _document(excerpt, index, display)
        if document is None:
            return None

        def prepare() -> _Prepared | None:
            return _prepare(change, wants, excerpt, document, index, log)

        if dry_run:
            prepared = prepare()
            if prepared is None:
                return None
            return Changed(prepared.plan, log, prepared.warnings, _pieces(excerpt, prepared.texts))
        try:
            refuse_read_only(real, old)
        except OSError as error:
            prepare()  # a refusal of the change itself comes first, as on the whole-file path
            raise write_error(error, path) from None
        return _write(path, real, source, old, excerpt, prepare, index, log)
    except _HandOver:
        return None
    finally:
        # The replaced file's pages are freed when its last descriptor closes (~10 ms for 40 MB): not in our way.
        threading.Thread(target=close_quietly, args=(source,), daemon=True).start()


def _excerpt(index: Index, source: int, wants: Wants) -> Excerpt | None:
    """The excerpt `wants` asks for: its events with their neighbours, the last events with what follows
    them for `end` (and `head`, which may find registries after the events), the head for `head`."""
    from tracker.excerpt import read_excerpt

    seqs = set(index.seqs_of(list(wants.event_ids)))
    if len(seqs) < len(set(wants.event_ids)):
        return None
    last = index.last_seqs(2)
    if wants.end or wants.head:
        seqs.update(last)
    for seq in list(seqs):
        seqs.update(index.neighbours(seq))
    return read_excerpt(index, source, sorted(seqs), head=wants.head, tail=last[-1] in seqs)


def _document(excerpt: Excerpt, index: Index, display: str) -> LogFile | None:
    """The excerpt as a log document, when it reads as the index says those events read."""
    from tracker.splice import events_list

    try:
        doc_log, problems = parse_text(excerpt.text, display)
    except TrackerError:
        return None
    items = events_list(doc_log.data)
    if any(problem.is_error for problem in problems) or items is None or len(items) != len(excerpt.seqs):
        return None
    ids = dict(index.rows(_query_in("SELECT seq, id FROM events", len(excerpt.seqs)), excerpt.seqs))
    if [item.get("id") if isinstance(item, dict) else None for item in items] != [ids.get(s) for s in excerpt.seqs]:
        return None
    return LogFile(display, excerpt.text, False, index.meta["newline"], doc_log, problems)


def _prepare(
    change: Change, wants: Wants, excerpt: Excerpt, document: LogFile, index: Index, log: Log
) -> _Prepared | None:
    """Plan the change on the excerpt, splice it, read it again in context and compare with the plan's
    expectation, check what changed against the index. None when the excerpt cannot vouch for it."""
    from tracker.check import check_log
    from tracker.excerpt import line_of
    from tracker.splice import events_list

    plan = change.plan(document, log)
    placed = excerpt.place(plan.splices)
    if placed is None:
        return None
    texts = excerpt.spliced(placed)
    new_text = "".join(texts)
    if new_text == excerpt.text:
        return _Prepared(plan, texts, [], lambda **_: None, False)
    try:
        new_log, new_problems = parse_text(new_text, document.path)
    except TrackerError:
        return None
    if document_view(new_log.data) != plan.expected:
        return None
    new_items = events_list(new_log.data)
    if new_items is None or len(new_items) != len(plan.positions):
        return None
    new_actor_keys: dict[str, str] = {}
    if wants.head:
        grown = _registries_grown(log, new_log)
        if grown is None:
            return None
        new_actor_keys = grown
    kept_seqs = {excerpt.seqs[position] for position in plan.positions if position is not None}

    def known_elsewhere(event_id: str) -> bool:
        rows = index.rows("SELECT seq FROM events WHERE id = ?", (event_id,))
        return any(seq not in excerpt.seqs for (seq,) in rows)

    old_ids = {item.get("id") for item in events_list(document.log.data) or () if isinstance(item, dict)}
    new_ids = {item.get("id") for item in new_items if isinstance(item, dict)}
    for gone in old_ids - new_ids:
        rows = index.rows("SELECT seq FROM event_related WHERE target = ?", (gone,))
        if any(seq not in kept_seqs and seq not in excerpt.seqs for (seq,) in rows):
            return None  # an event elsewhere still points at it: the whole file says where
    found = check_log(new_log, new_problems, registries=None if wants.head else log, known_id=known_elsewhere)
    if any("(first at line" in problem.message for problem in found):
        return None  # the message names a line of the excerpt
    shifts = [0]
    for segment, text in zip(excerpt.segments, texts, strict=True):
        shifts.append(shifts[-1] + text.count("\n") - segment.text.count("\n"))
    in_file = line_of(texts, excerpt.segments, shifts)
    found = [
        Problem(Location(problem.location.path, in_file(problem.location.line), problem.location.column),
                problem.message, problem.severity)
        if problem.location.line is not None else problem
        for problem in found
    ]  # fmt: skip
    raise_first_error([problem for problem in found if problem.is_error])
    layout = _new_layout(excerpt, document, texts, new_text, new_log, plan, index)
    if layout is None:
        return None
    warnings = [problem for problem in found if not problem.is_error]

    def written(**facts: Any) -> Any:
        from tracker.index.update import ProblemChange, Written

        dropped = [(segment.line + 1, segment.line + segment.text.count("\n")) for segment in excerpt.segments]
        if excerpt.segments[-1].tail:
            dropped[-1] = (dropped[-1][0], 1 << 62)  # to the end of the file, its last line unended or not
        moves = [
            (segment.line + segment.text.count("\n"), text.count("\n") - segment.text.count("\n"))
            for segment, text in zip(excerpt.segments, texts, strict=True)
        ]
        return Written(
            removed=layout["removed"],
            chunks=layout["chunks"],
            values=layout["values"],
            log=new_log if wants.head else log,
            layout={key: layout[key] for key in ("head_size", "head_lines", "prelude", "prelude_line")},
            head=layout.get("head_values") if wants.head else None,
            new_actor_keys=new_actor_keys,
            problems=ProblemChange(dropped, moves, warnings),
            **facts,
        )

    return _Prepared(plan, texts, warnings, written, wants.head)


def _registries_grown(log: Log, new_log: Log) -> dict[str, str] | None:
    """The actor names and aliases the registries gained (their keys, and the actor each names), when the
    change only adds to them; None when it removes or renames anything (events elsewhere would read
    differently: the whole-file path checks them all)."""
    from tracker.model import normalise_name

    def keys(registry: Log) -> dict[str, str]:
        return {normalise_name(name): actor.name for actor in registry.actors for name in (actor.name, *actor.aliases)}

    old_keys, new_keys = keys(log), keys(new_log)
    if any(new_keys.get(key) != name for key, name in old_keys.items()):
        return None
    if {source.id for source in log.sources} - {source.id for source in new_log.sources}:
        return None
    old_data, new_data = log.data, new_log.data
    if (isinstance(old_data, dict) and "actors" in old_data) != (isinstance(new_data, dict) and "actors" in new_data):
        return None
    return {key: name for key, name in new_keys.items() if key not in old_keys}


def _new_layout(
    excerpt: Excerpt, document: LogFile, texts: list[str], new_text: str, new_log: Log, plan: Plan, index: Index
) -> dict[str, Any] | None:
    """What the index must learn of the excerpt's events and head after the change: each event's sequence
    number with its byte size and line count, the changed and new events' values, the removed events, the
    head's size and where its `events:` line is. None when the change does not fit the index's picture
    (new events anywhere but after the log's last one)."""
    from tracker.nodes import plain
    from tracker.splice import dash_column, end_of_item, events_list, line_start

    last_seq = index.last_seqs(1)[0]
    seqs: list[int] = []
    for number, position in enumerate(plan.positions):
        if position is not None:
            seqs.append(excerpt.seqs[position])
        elif excerpt.seqs[-1] != last_seq or any(later is not None for later in plan.positions[number:]):
            return None  # new events go after the log's last event only
        else:
            seqs.append(max([last_seq, *seqs]) + 1)
    bounds, start = [], 0
    for text in texts:
        bounds.append((start, start + len(text)))
        start += len(text)
    items = events_list(new_log.data)
    starts = _item_starts(new_text, items)
    if not starts:
        return None  # a log left without events: the index has no event to place the rest by
    meta = index.meta
    # Text before a segment's first event belongs to the event before it, which is in the excerpt (it is
    # the neighbour of what changed), or, when the segment begins the events, to the head.
    begins_events = excerpt.segments[0].offset <= meta["head_size"]
    for number, (low, high) in enumerate(bounds):
        first_start = next((start for start in starts if low <= start < high), high)
        if first_start != low and not (number == 0 and begins_events):
            return None
    chunks: dict[int, tuple[int, int]] = {}
    for number, seq in enumerate(seqs):
        begin = starts[number]
        high = next(bound[1] for bound in bounds if bound[0] <= begin < bound[1])
        if number + 1 < len(starts) and starts[number + 1] < high:
            stop = starts[number + 1]
        elif seq == seqs[-1] and excerpt.segments[-1].tail:
            stop = end_of_item(new_text, items[-1], dash_column(new_text, items.item_marks[-1].index))
        else:
            stop = high
        chunks[seq] = (len(new_text[begin:stop].encode("utf-8")), new_text.count("\n", begin, stop))
    layout: dict[str, Any] = {key: meta[key] for key in ("head_size", "head_lines", "prelude", "prelude_line")}
    first = excerpt.segments[0]
    if begins_events:
        old_starts = _item_starts(excerpt.text, events_list(document.log.data))
        old_end = old_starts[0] if old_starts[0] < first.end else first.end
        new_end = starts[0] if starts[0] < bounds[0][1] else bounds[0][1]
        old_head, new_head = excerpt.text[:old_end], new_text[:new_end]
        layout["head_size"] += len(new_head.encode("utf-8")) - len(old_head.encode("utf-8"))
        layout["head_lines"] += new_head.count("\n") - old_head.count("\n")
    data = new_log.data
    if first.head and isinstance(data, dict) and "events" in data:
        key_line = line_start(new_text, data.key_marks["events"].index)
        layout["prelude"] = excerpt.head_offset + len(new_text[:key_line].encode("utf-8"))
        layout["prelude_line"] = first.line + new_text.count("\n", 0, key_line)
        layout["head_values"] = {key: plain(value) for key, value in data.items() if key != "events"}
    events = {id(event.fields): event for event in new_log.events}
    old_fields = dict(index.rows(_query_in("SELECT seq, fields FROM events", len(excerpt.seqs)), excerpt.seqs))
    values = {}
    for number, seq in enumerate(seqs):
        event = events.get(id(items[number]))
        if event is None:
            return None
        if seq not in old_fields or json.loads(old_fields[seq]) != plain(items[number]):
            values[seq] = event
    layout.update(chunks=chunks, values=values, removed=[seq for seq in excerpt.seqs if seq not in seqs])
    return layout


def _item_starts(text: str, items: Any) -> list[int]:
    """Where each event's text starts: the start of the line its dash is on."""
    from tracker.splice import item_range

    return [item_range(text, items, position)[0] for position in range(len(items or ()))]


def _query_in(query: str, count: int) -> str:
    return f"{query} WHERE seq IN ({', '.join('?' * count)})"


def _pieces(excerpt: Excerpt, texts: Sequence[str]) -> list[tuple[int, str, str]]:
    return [(segment.line, segment.text, text) for segment, text in zip(excerpt.segments, texts, strict=True)]


class _Unchanged(Exception):
    """The change leaves the file as it is: nothing is written."""


def _write(
    path: Path,
    real: Path,
    source: int,
    old: os.stat_result,
    excerpt: Excerpt,
    prepare: Callable[[], _Prepared | None],
    index: Index,
    log: Log,
) -> Changed:
    """Write the new file: the bytes before the excerpt copied (and flushed) while the change is prepared,
    then each segment's new text and the bytes between and after copied; renamed into place when the log is
    still the version the index describes. Then the index takes in the change."""
    import sqlite3

    from tracker.index import IndexBroken, IndexUnusable, indexed_log, signature
    from tracker.index.update import record_write
    from tracker.mounts import changes_show_after_stat

    expected = index.meta["signature"]
    made: list[_Prepared | None] = []
    blocks: list[list[Any]] = []
    shows_changes = [False]

    def fill(descriptor: int) -> None:
        failures: list[BaseException] = []
        first = excerpt.segments[0].offset
        copier = threading.Thread(target=copy_and_flush, args=(source, descriptor, 0, first, failures))
        try:
            copier.start()
            made.append(prepare())
        finally:
            join_through_interrupt(copier)
        if failures:
            raise failures[0]
        prepared = made[-1]
        if prepared is None:
            raise _HandOver
        if "".join(prepared.texts) == excerpt.text:
            raise _Unchanged
        position = first
        for segment, text in zip(excerpt.segments, prepared.texts, strict=True):
            if segment.offset > position:
                copy_and_flush(source, descriptor, position, segment.offset - position)
            write_all(descriptor, text.encode("utf-8"))
            position = segment.offset + segment.size
        if position < old.st_size:
            copy_and_flush(source, descriptor, position, old.st_size - position)
        if signature(os.fstat(source)) != expected or signature(os.stat(real)) != expected:
            raise _HandOver  # written in place, or replaced, while it was copied
        grown = sum(
            len(text.encode("utf-8")) - segment.size
            for segment, text in zip(excerpt.segments, prepared.texts, strict=True)
        )
        if os.fstat(descriptor).st_size != old.st_size + grown:
            raise OSError(errno.EIO, "the new file came out the wrong size")
        blocks.extend(_new_blocks(index.meta["blocks"], excerpt, prepared.texts, descriptor, old.st_size))
        shows_changes[0] = changes_show_after_stat(descriptor)

    try:
        written = replace_file(real, fill, old)
    except _Unchanged:
        prepared = made[-1]
        assert prepared is not None
        return Changed(prepared.plan, log, prepared.warnings, _pieces(excerpt, prepared.texts))
    except OSError as error:
        raise write_error(error, path) from None
    prepared = made[-1]
    assert prepared is not None
    try:
        status: os.stat_result | None = real.stat()
    except OSError:
        status = None  # the index will not vouch for a file it has not seen since the rename
    # The rename changes only the ctime: any other write since the writer's stat changed the mtime too.
    pinned = (
        status is not None
        and shows_changes[0]
        and (written.st_ino, written.st_size, written.st_mtime_ns)
        == (status.st_ino, status.st_size, status.st_mtime_ns)
    )
    with contextlib.suppress(IndexUnusable, IndexBroken, OSError, sqlite3.Error):
        record_write(index, prepared.written(blocks=blocks, status=status or written, pinned=pinned))
    if prepared.registries_changed:
        log = indexed_log(index, log.path)  # the registries as they are now
    return Changed(prepared.plan, log, prepared.warnings, _pieces(excerpt, prepared.texts))


def _new_blocks(
    blocks: Sequence[Sequence[Any]], excerpt: Excerpt, texts: Sequence[str], descriptor: int, old_size: int
) -> list[list[Any]]:
    """The new file's block digests: those of blocks no changed segment touches stay; the runs of blocks
    that one touches are read back from the new file at `descriptor` and digested again."""
    from tracker.index.database import BLOCK_SIZE, block_digest

    changes = [
        (segment.offset, segment.offset + segment.size, len(text.encode("utf-8")) - segment.size)
        for segment, text in zip(excerpt.segments, texts, strict=True)
        if text != segment.text
    ]

    def moved(position: int) -> int:
        return position + sum(grown for _, end, grown in changes if end <= position)

    new: list[list[Any]] = []
    run: list[int] | None = None
    offset = 0
    ranges = []
    for length, digest in blocks:
        start, stop = offset, offset + length
        offset = stop
        touched = any(low < stop and high > start for low, high, _ in changes)
        ranges.append((start, stop, touched, [length, digest]))
    for start, stop, touched, block in [*ranges, (old_size, old_size, False, None)]:
        if touched:
            run = [run[0] if run else start, stop]
            continue
        if run is not None:
            begin, end = moved(run[0]), moved(run[1])
            while begin < end:
                piece = os.pread(descriptor, min(BLOCK_SIZE, end - begin), begin)
                new.append(block_digest(piece))
                begin += len(piece)
            run = None
        if block is not None:
            new.append(list(block))
    return new
