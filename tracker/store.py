"""Reading a log strictly, and the one write path: lock, splice, verify, atomic replace."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.errors import Location, LogError, Problem, TrackerError, UsageError
from tracker.model import Event, Log, build_log
from tracker.nodes import plain

if TYPE_CHECKING:
    from tracker.index import Insertion
    from tracker.splice import Splice

LOG_NAME = "events.yaml"
FLUSH_CHUNK_BYTES = 4 << 20  # an insertion this far into a log flushes the bytes before it while the event is made

Progress = Callable[[int, int], None]


@dataclass
class LogFile:
    """A log as read from disk: its text, how it is written, and what it holds."""

    path: str
    text: str
    bom: bool
    newline: str
    log: Log
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.is_error]


def find_log(explicit: str | None, cwd: Path | None = None) -> Path:
    """The log to use: `explicit` (from --file or TRACKER_FILE), else events.yaml here or in the nearest parent."""
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_dir():
            raise UsageError(f"{explicit} is a folder, not a log file")
        return path
    folder = (cwd or Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        path = candidate / LOG_NAME
        if path.is_file():
            return path
    raise UsageError(
        f"no {LOG_NAME} in {folder} or any parent folder; "
        "pass --file PATH or set TRACKER_FILE (tracker add creates the file it is given)"
    )


def parse_text(text: str, path: str) -> tuple[Log, list[Problem]]:
    """Parse log text into a Log and every problem found on the way (raises LogError when unreadable)."""
    from tracker.fastread import read_fast

    data, problems = read_fast(text, path)
    log, model_problems = build_log(data, path)
    log.heading = first_comment(text)
    return log, problems + model_problems


def first_comment(text: str) -> str:
    """The text of the file's first line when it is a comment: the log's heading."""
    first_line = text.split("\n", 1)[0].strip()
    return first_line.lstrip("#").strip() if first_line.startswith("#") else ""


def read_log(path: Path, *, missing_ok: bool = False) -> LogFile:
    """Read and parse the log at `path`; unreadable YAML or encoding raises a located LogError."""
    display = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if not missing_ok:
            raise UsageError(f"{display}: no such file (tracker add creates it)") from None
        raw = b""
    except OSError as error:
        raise LogError(f"cannot read: {error.strerror}", Location(display)) from None
    text = decode(raw, display)
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    newline = newline_of(text)
    log, problems = parse_text(text, display)
    return LogFile(display, text, bom, newline, log, problems)


def newline_of(text: str) -> str:
    first_break = text.find("\n")
    if first_break < 0:
        return "\r" if "\r" in text else "\n"
    return "\r\n" if text[first_break - 1 : first_break] == "\r" else "\n"


def load_log(path: Path, *, index_folder: Path | None = None, progress: Progress | None = None) -> Log:
    """Read the log for a reading command: the first error that makes it unusable raises.

    With `index_folder`, the log is answered from its index there (built first if
    needed, `progress` told how far along), unless the log cannot be indexed.
    """
    if index_folder is not None:
        from tracker.index import IndexUnusable, open_index

        try:
            return open_index(index_folder, path, progress=progress).log(str(path))
        except IndexUnusable:
            pass
    log_file = read_log(path)
    raise_first_error(log_file.errors)
    return log_file.log


def raise_first_error(errors: list[Problem]) -> None:
    """Raise the first of `errors` as a LogError, saying how many more there are."""
    if not errors:
        return
    first = errors[0]
    more = f" (and {len(errors) - 1} more; run 'tracker check')" if len(errors) > 1 else ""
    raise LogError(first.message + more, first.location)


def decode(raw: bytes, display: str) -> str:
    """UTF-8 text of `raw`; an undecodable byte raises a LogError naming its line and column."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        raise LogError(
            f"not UTF-8 text (byte 0x{raw[error.start]:02x}); save the file as UTF-8",
            Location(display, line, column),
        ) from None


@contextlib.contextmanager
def locked(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (a lock file beside it) so that writers queue;
    `on_wait` is called once if another writer holds it."""
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise LogError(
            f"cannot create the lock file beside the log: {error.strerror}; the log is unchanged",
            Location(str(lock_path)),
        ) from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        _remove_leftovers(path)
        yield
    finally:
        os.close(descriptor)


def _remove_leftovers(path: Path) -> None:
    """Remove the temporary files of writers killed mid-write beside the log: with the lock held, none is
    writing. Only names tempfile gives for this log's name match (8 characters between name and .tmp)."""
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.{'[a-z0-9_]' * 8}.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves the old file or the new one, never a mix.

    The temporary file lives in the same folder, is fsynced, takes the old file's
    mode (and owner where allowed), then replaces the target by rename; the folder is fsynced.
    A symlinked log is written through to its target; a read-only log is refused.
    Any failure raises LogError and leaves the old file as it was.
    """
    target = Path(os.path.realpath(path))
    try:
        _replace(target, lambda descriptor: _write_all(descriptor, data))
    except OSError as error:
        raise _write_error(error, path) from None


class _FolderNotFlushed(OSError):
    """The new file is in place, but its folder could not be flushed to disk."""


def _write_error(error: OSError, path: Path) -> LogError:
    reason = error.strerror or str(error)
    if isinstance(error, _FolderNotFlushed):
        return LogError(f"written, but its folder could not be flushed to disk: {reason}", Location(str(path)))
    return LogError(f"cannot write: {reason}; nothing was changed", Location(str(path)))


def _replace(target: Path, fill: Callable[[int], None], old_stat: os.stat_result | None = None) -> os.stat_result:
    """Replace `target` by a temporary file that `fill` writes through its descriptor (see atomic_write);
    the new file's stat taken before the rename, once its bytes are final."""
    folder = target.parent
    if old_stat is None:
        with contextlib.suppress(FileNotFoundError):
            old_stat = target.stat()
    if old_stat is not None:
        _refuse_read_only(target, old_stat)
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        try:
            fill(descriptor)
            os.fsync(descriptor)
            written = os.fstat(descriptor)
        finally:
            os.close(descriptor)
        if old_stat is not None:
            os.chmod(temporary, old_stat.st_mode & 0o7777)
            with contextlib.suppress(OSError):
                os.chown(temporary, old_stat.st_uid, old_stat.st_gid)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    try:
        folder_descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_descriptor)
        finally:
            os.close(folder_descriptor)
    except OSError as error:
        raise _FolderNotFlushed(error.errno, error.strerror) from None
    return written


def _refuse_read_only(target: Path, status: os.stat_result) -> None:
    if not status.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise OSError(errno.EACCES, "the file is read-only for you (check its permissions)")


@dataclass
class Plan:
    """A change to a log: text splices, and the whole document expected after them (see document_view)."""

    splices: list[Splice]
    expected: dict[str, Any]
    details: Any = None


@dataclass
class Changed:
    """What a change wrote (or, with dry_run, would write)."""

    before: LogFile
    text: str
    log: Log
    warnings: list[Problem]
    plan: Plan


def document_view(data: Any) -> dict[str, Any]:
    """A log's content as plain data in one shape: a dict whose `events` is a list (maybe empty)."""
    if isinstance(data, list):
        return {"events": plain(data)}
    view = plain(data) if isinstance(data, dict) else {}
    view["events"] = view.get("events") or []
    return view


def change_log(
    path: Path,
    plan: Callable[[LogFile], Plan],
    *,
    check: Callable[[Log, list[Problem]], list[Problem]],
    dry_run: bool = False,
    on_wait: Callable[[], None] | None = None,
    may_fix: bool = False,
) -> Changed:
    """Change the log at `path` through the one safe write path.

    Under an exclusive lock: read and parse the current file; ask `plan` for the
    splices (so ids and ranges are computed against what is really there); apply them;
    parse the new text and verify it holds exactly the document the plan expects;
    check it, refusing any error (and, when the log already had errors, any change
    that does not fix them all); then replace the file atomically. Only a change
    that `may_fix` (edit, rm) is tried on a log that already has errors.
    With `dry_run` everything happens but the write.
    """
    path = Path(path)
    real_path = Path(os.path.realpath(path))
    if not real_path.parent.is_dir():
        raise UsageError(f"{path}: folder {real_path.parent} does not exist")
    if real_path.exists() and not real_path.is_file():
        raise UsageError(f"{path}: not a regular file; tracker writes only to a plain file")
    with contextlib.nullcontext() if dry_run else locked(real_path, on_wait):
        current = read_log(path, missing_ok=True)
        if current.newline == "\r":
            raise LogError(
                "the log uses CR line endings (classic Mac OS); convert it to LF or CRLF to change it",
                Location(current.path),
            )
        old_errors = [problem for problem in check(current.log, current.problems) if problem.is_error]
        if old_errors and not may_fix:
            raise_first_error(old_errors)
        try:
            change = plan(current)
        except TrackerError:
            raise_first_error(old_errors)  # a broken log explains a failed plan better
            raise
        from tracker.splice import apply_splices

        text = apply_splices(current.text, change.splices)
        try:
            new_log, new_problems = parse_text(text, current.path)
        except LogError as error:
            raise LogError(
                f"cannot change this log: the new text would not parse ({error.message}); nothing was written",
                Location(current.path),
            ) from None
        if document_view(new_log.data) != change.expected:
            raise LogError(
                "internal check failed: the new text would not hold exactly the intended change; "
                "nothing was written (please report this)",
                Location(current.path),
            )
        new_problems = check(new_log, new_problems)
        # A log with errors is only written to by a change that leaves it with none (a fix).
        new_errors = [problem for problem in new_problems if problem.is_error]
        if new_errors:
            raise_first_error(old_errors or new_errors)
        warnings = [problem for problem in new_problems if not problem.is_error]
        if not dry_run and text != current.text:
            atomic_write(path, (("\ufeff" if current.bom else "") + text).encode("utf-8"))
    return Changed(current, text, new_log, warnings, change)


@dataclass
class Appended:
    """What an append through the index wrote (or, with dry_run, would write)."""

    fields: dict[str, Any]
    text: str
    log: Log
    warnings: list[Problem]


def append_with_index(
    path: Path,
    index_folder: Path,
    make_fields: Callable[[Log], dict[str, Any]],
    *,
    dry_run: bool = False,
    on_wait: Callable[[], None] | None = None,
    progress: Progress | None = None,
) -> Appended | None:
    """Append one event using the log's index (built first when missing or out of date, `progress` told how
    far along), without re-parsing the log: None when the index cannot vouch for the file (unreadable,
    check errors in this content, events not in a block list), so that the caller takes change_log's
    whole-file path, which reports what is wrong.

    Under the lock: the index gives the registries, the ids and where new events go;
    `make_fields` builds the event from them; its YAML text alone is parsed back and
    must hold exactly those fields; it is checked against the registries and the ids
    already in the log. The new file is the old one's bytes with the text inserted,
    copied by the kernel, fsynced and renamed into place; then the index takes in
    the event.
    """
    from tracker.check import by_position
    from tracker.index import IndexUnusable, open_index

    real_path = Path(os.path.realpath(path))
    if not real_path.is_file():
        return None
    with contextlib.nullcontext() if dry_run else locked(real_path, on_wait):
        try:
            index = open_index(index_folder, real_path, progress=progress)
        except IndexUnusable:
            return None
        point = index.meta["append"]
        if point is None or point["lead_changes"] or index.meta["check_errors"]:
            return None  # "lead_changes": ending the file's last line changes its last event, which the file path shows

        def prepare() -> _Prepared:
            log = index.log(str(path))
            fields = make_fields(log)
            text, event, problems = _checked_item(log, fields, point, str(path))
            return _Prepared(Appended(fields, text, log, problems), event, text.encode("utf-8"))

        if dry_run:
            return prepare().appended
        checked = index.checked()  # whether what `check` finds in the log is known (its warnings located)
        inserted = _insert_bytes(path, index.meta["signature"], point["offset"], prepare)
        if inserted is None:
            return None
        appended, insertion = inserted
        import sqlite3

        with contextlib.suppress(IndexUnusable, OSError, sqlite3.Error):
            index.record_append(insertion, sorted(appended.warnings, key=by_position) if checked else None)
    return appended


@dataclass
class _Prepared:
    """An event ready to be appended: what the command reports, the event, and its bytes."""

    appended: Appended
    event: Event
    data: bytes


class _LogChanged(Exception):
    """The log changed while it was being copied."""


def _checked_item(
    log: Log, fields: dict[str, Any], point: dict[str, Any], display: str
) -> tuple[str, Any, list[Problem]]:
    """The text that appends `fields` at `point`, the event it holds, and its warnings; errors raise."""
    from tracker.check import EventChecker
    from tracker.model import _build_event
    from tracker.yamltext import dump_list_item, read_strict

    newline = point["newline"]
    item = dump_list_item(fields, " " * point["column"], newline)
    prefix = (newline if point["lead"] else "") + (newline if point["separator"] else "")
    first_line = point["line"] + prefix.count("\n")
    parsed, problems = read_strict(item, display)
    entry = parsed[0] if isinstance(parsed, list) and len(parsed) == 1 else None
    if entry is None or plain(entry) != plain(fields) or problems:
        raise LogError(
            "internal check failed: the new event's text does not read back as the event; nothing was written "
            "(please report this)",
            Location(display),
        )
    model_problems: list[Problem] = []
    event = _build_event(entry, 0, parsed.item_marks[0], display, model_problems)
    checker = EventChecker(log, known_id=log.has_event_id)
    checker.add(entry, event)
    found = [_moved(problem, first_line - 1) for problem in model_problems + checker.finish()]
    raise_first_error([problem for problem in found if problem.is_error])
    if event is None:
        raise LogError("internal check failed: the new event is not usable; nothing was written", Location(display))
    return prefix + item, event, found


def _moved(problem: Problem, lines: int) -> Problem:
    where = problem.location
    return Problem(Location(where.path, (where.line or 1) + lines, where.column), problem.message, problem.severity)


def _insert_bytes(
    path: Path, expected: list[int], offset: int, prepare: Callable[[], _Prepared]
) -> tuple[Appended, Insertion] | None:
    """Replace the log at `path` with its bytes plus the event `prepare` makes inserted at `offset`, as
    atomic_write does, when it is the version the index describes (`expected` signature) and stays so
    while it is copied: None otherwise. The bytes before `offset` are copied and flushed to disk while
    `prepare` runs; whatever it raises stops the write. Returns what `prepare` made, and what was written.
    """
    from tracker.index import BLOCK_SIZE, Insertion, block_digests, signature
    from tracker.mounts import changes_show_after_stat

    target = Path(os.path.realpath(path))
    prepared: _Prepared | None = None
    tail_digests: list[str] = []
    shows_changes = False

    def fill(descriptor: int) -> None:
        nonlocal prepared, tail_digests, shows_changes
        failures: list[BaseException] = []
        copier = threading.Thread(target=_copy_and_flush, args=(source, descriptor, offset, failures))
        try:
            copier.start()
            prepared = prepare()
        finally:
            _join(copier)
        if failures:
            raise failures[0]
        _write_all(descriptor, prepared.data)
        _copy_range(source, descriptor, offset, old.st_size - offset)
        if signature(os.fstat(source)) != expected or signature(os.stat(target)) != expected:
            raise _LogChanged  # written in place, or replaced, while it was copied
        if os.fstat(descriptor).st_size != old.st_size + len(prepared.data):
            raise OSError(errno.EIO, "the new file came out the wrong size")
        with os.fdopen(descriptor, "rb", buffering=0, closefd=False) as written_file:
            tail_digests = block_digests(written_file, offset // BLOCK_SIZE)
        shows_changes = changes_show_after_stat(descriptor)

    try:
        source = os.open(target, os.O_RDONLY)
    except OSError as error:
        raise LogError(f"cannot read: {error.strerror or error}; nothing was changed", Location(str(path))) from None
    try:
        old = os.fstat(source)
        if signature(old) != expected:
            return None
        try:
            _refuse_read_only(target, old)
        except OSError:
            prepare()  # a refusal of the event itself comes first, as on the whole-file path
            raise
        written = _replace(target, fill, old)
    except _LogChanged:
        return None
    except OSError as error:
        raise _write_error(error, path) from None
    finally:
        # The replaced file's pages are freed when its last descriptor closes (~10 ms for 40 MB): not in our way.
        threading.Thread(target=_close_quietly, args=(source,), daemon=True).start()
    assert prepared is not None
    try:
        status: os.stat_result | None = target.stat()
    except OSError:
        status = None  # the index will not vouch for a file it has not seen since the rename
    # The rename changes only the ctime: any other write since the writer's stat changed the mtime too.
    pinned = (
        status is not None
        and shows_changes
        and (written.st_ino, written.st_size, written.st_mtime_ns)
        == (status.st_ino, status.st_size, status.st_mtime_ns)
    )
    appended = prepared.appended
    lines = appended.text.count("\n")
    insertion = Insertion(
        prepared.event, appended.log, len(prepared.data), lines, status or written, pinned, tail_digests
    )
    return appended, insertion


def _close_quietly(descriptor: int) -> None:
    with contextlib.suppress(OSError):
        os.close(descriptor)


def _join(thread: threading.Thread) -> None:
    """Wait for `thread` to end even through Ctrl-C (raised once it has): it writes to a descriptor that
    is closed next."""
    interrupted = None
    while thread.is_alive():
        try:
            thread.join()
        except KeyboardInterrupt as error:
            interrupted = error
    if interrupted is not None:
        raise interrupted


def _copy_and_flush(source: int, destination: int, length: int, failures: list[BaseException]) -> None:
    """Copy the first `length` bytes of `source` to `destination` and, when they are at least a chunk,
    flush them to disk (run beside other work: a failure is put in `failures`)."""
    try:
        if length < FLUSH_CHUNK_BYTES:
            _copy_range(source, destination, 0, length)
            return
        for start in range(0, length, FLUSH_CHUNK_BYTES):
            piece = min(FLUSH_CHUNK_BYTES, length - start)
            _copy_range(source, destination, start, piece)
            # Starts writing the chunk to disk now, while the next one is copied (PostgreSQL's pg_flush_data
            # falls back to the same hint); its pages, still being written, stay in the cache.
            with contextlib.suppress(AttributeError, OSError):
                os.posix_fadvise(destination, start, piece, os.POSIX_FADV_DONTNEED)
        os.fdatasync(destination)
    except BaseException as error:
        failures.append(error)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


def _copy_range(source: int, destination: int, start: int, length: int) -> None:
    """Copy `length` bytes of `source` from `start` to the end of `destination`, in the kernel where it can."""
    position = start
    end = start + length
    while position < end:
        try:
            copied = os.copy_file_range(source, destination, end - position, position)
        except OSError as error:
            if error.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            copied = 0
        if copied == 0:
            os.lseek(source, position, os.SEEK_SET)
            piece = os.read(source, min(end - position, 1 << 20))
            if not piece:
                raise OSError(errno.EIO, "the log ended early while being copied")
            _write_all(destination, piece)
            copied = len(piece)
        position += copied
