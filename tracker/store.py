"""Reading a log strictly, and the one write path: lock, splice, verify, atomic replace."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.errors import Location, LogError, Problem, UsageError
from tracker.model import Log, build_log, raw_events
from tracker.yamltext import YamlList, compose, construct, dump_list_item, plain, refuse_anchors

LOG_NAME = "events.yaml"


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
    refuse_anchors(text, path)
    problems: list[Problem] = []
    data = construct(compose(text, path), path, problems)
    log, model_problems = build_log(data, path)
    log.heading = _first_comment(text)
    return log, problems + model_problems


def _first_comment(text: str) -> str:
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
    newline = _newline_of(text)
    log, problems = parse_text(text, display)
    return LogFile(display, text, bom, newline, log, problems)


def _newline_of(text: str) -> str:
    first_break = text.find("\n")
    if first_break < 0:
        return "\r" if "\r" in text else "\n"
    return "\r\n" if text[first_break - 1 : first_break] == "\r" else "\n"


def load_log(path: Path) -> Log:
    """Read the log for a reading command: the first error that makes it unusable raises."""
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
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (a lock file beside it) so that writers queue."""
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise LogError(
            f"cannot create the lock file beside the log: {error.strerror}; the log is unchanged",
            Location(str(lock_path)),
        ) from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves the old file or the new one, never a mix.

    The temporary file lives in the same folder, is fsynced, takes the old file's
    mode (and owner where allowed), then replaces the target by rename; the folder is fsynced.
    A symlinked log is written through to its target; a read-only log is refused.
    Any failure raises LogError and leaves the old file as it was.
    """
    target = Path(os.path.realpath(path))
    try:
        _replace(target, data)
    except OSError as error:
        raise LogError(f"cannot write: {error.strerror or error}; the log is unchanged", Location(str(path))) from None


def _replace(target: Path, data: bytes) -> None:
    folder = target.parent
    try:
        old_stat: os.stat_result | None = target.stat()
    except FileNotFoundError:
        old_stat = None
    if old_stat is not None and (not old_stat.st_mode & 0o222 or not os.access(target, os.W_OK)):
        raise OSError(errno.EACCES, "the file is read-only for you (check its permissions)")
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
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
    folder_descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(folder_descriptor)
    finally:
        os.close(folder_descriptor)


@dataclass
class Appended:
    """What an append wrote (or would write): the new event and the file text."""

    fields: dict[str, Any]
    snippet: str
    text: str
    log: Log
    warnings: list[Problem]


def append_event(
    path: Path,
    make_fields: Callable[[Log], dict[str, Any]],
    *,
    check: Callable[[Log, list[Problem]], list[Problem]],
    dry_run: bool = False,
) -> Appended:
    """Append one event to the log at `path` through the safe write path.

    Under the lock: read and parse the current file, refuse when `check` finds
    errors, call `make_fields(log)` (so ids are chosen against what is really there),
    splice the event's YAML after the last event, parse the result again and verify
    every old value is unchanged and the new event is present, check it, and
    atomically replace the file. With `dry_run` nothing is written.
    """
    path = Path(path)
    real_path = Path(os.path.realpath(path))
    if not real_path.parent.is_dir():
        raise UsageError(f"{path}: folder {real_path.parent} does not exist")
    if real_path.exists() and not real_path.is_file():
        raise UsageError(f"{path}: not a regular file; tracker writes only to a plain file")
    with locked(real_path):
        current = read_log(path, missing_ok=True)
        raise_first_error([problem for problem in check(current.log, current.problems) if problem.is_error])
        fields = make_fields(current.log)
        text, snippet = splice_event(current, fields)
        try:
            new_log, new_problems = parse_text(text, current.path)
        except LogError as error:
            raise LogError(
                f"cannot add to this log: the new text would not parse ({error.message}); nothing was written",
                Location(current.path),
            ) from None
        verify_append(current, new_log, fields)
        new_problems = check(new_log, new_problems)
        raise_first_error([problem for problem in new_problems if problem.is_error])
        warnings = [problem for problem in new_problems if not problem.is_error]
        if not dry_run:
            data = (("\ufeff" if current.bom else "") + text).encode("utf-8")
            atomic_write(path, data)
    return Appended(fields, snippet, text, new_log, warnings)


def splice_event(current: LogFile, fields: dict[str, Any]) -> tuple[str, str]:
    """The log text with `fields` inserted as a new last event, and the inserted snippet.

    Nothing before or after the insertion point changes. The new item takes the
    indentation the events list already uses.
    """
    text, newline, data = current.text, current.newline, current.log.data
    if newline == "\r":
        raise LogError(
            "the log uses CR line endings (classic Mac OS); convert it to LF or CRLF to add to it",
            Location(current.path),
        )
    if data is None:
        prefix = text if not text or text.endswith("\n") else text + newline
        snippet = dump_list_item(fields, "  ", newline)
        return prefix + "events:" + newline + snippet, snippet
    if isinstance(data, YamlList):
        return _splice_into_list(current, data, fields)
    events = data.get("events")
    if isinstance(events, YamlList) and events:
        return _splice_into_list(current, events, fields)
    if isinstance(events, YamlList) and events.flow:
        # `events: []`: replace the empty flow list with a block list.
        start, end = events.start.index, events.end.index
        key_column = data.key_marks["events"].column
        snippet = dump_list_item(fields, " " * (key_column + 2), newline)
        tail = text[end:]
        tail_newline = "" if tail.startswith(("\n", "\r\n")) or not tail else newline
        before = text[:start].rstrip(" ")
        return before + newline + snippet.rstrip("\r\n") + tail_newline + tail, snippet
    if "events" in data:
        # `events:` with nothing under it: insert after that line.
        key_mark = data.key_marks["events"]
        insert_at = _end_of_line(text, key_mark.index)
        snippet = dump_list_item(fields, " " * (key_mark.column + 2), newline)
        head = text[:insert_at]
        if not head.endswith("\n"):
            head += newline
        return head + snippet + text[insert_at:], snippet
    prefix = text if text.endswith("\n") else text + newline
    snippet = dump_list_item(fields, "  ", newline)
    return prefix + "events:" + newline + snippet, snippet


def _splice_into_list(current: LogFile, events: YamlList, fields: dict[str, Any]) -> tuple[str, str]:
    text, newline = current.text, current.newline
    if events.flow:
        mark = events.start
        raise LogError(
            "the events list is written in flow style ([...]); write it as a block list ('- ' items) to add to it",
            Location(current.path, mark.line + 1, mark.column + 1),
        )
    last = events[-1]
    last_mark = events.item_marks[-1]
    dash_column = _dash_column(text, last_mark)
    insert_at = _end_of_item(text, last, dash_column)
    indent = " " * dash_column
    snippet = dump_list_item(fields, indent, newline)
    separator = ""
    if len(events) > 1 and _blank_line_between(text, events):
        separator = newline
    head = text[:insert_at]
    if not head.endswith("\n"):
        head += newline
    return head + separator + snippet + text[insert_at:], separator + snippet


def _dash_column(text: str, item_mark: Any) -> int:
    """The column of the `-` that introduces the list item starting at `item_mark`
    (on the same line, or alone on a line above it)."""
    position = item_mark.index - 1
    while position >= 0 and text[position] in " \t\r\n":
        position -= 1
    if position >= 0 and text[position] == "-":
        return position - (text.rfind("\n", 0, position) + 1)
    return max(item_mark.column - 2, 0)


def _end_of_line(text: str, index: int) -> int:
    newline_at = text.find("\n", index)
    return len(text) if newline_at < 0 else newline_at + 1


def _end_of_item(text: str, item: Any, dash_column: int) -> int:
    """Where the item's text ends: after its last value (a block scalar's trailing
    lines included), then over comment lines indented deeper than its dash."""
    end_index = item.end.index
    position = end_index if end_index > 0 and text[end_index - 1] == "\n" else _end_of_line(text, end_index)
    while position < len(text):
        line_end = _end_of_line(text, position)
        line = text[position:line_end]
        stripped = line.lstrip(" ")
        if stripped.startswith("#") and len(line) - len(stripped) > dash_column:
            position = line_end
            continue
        break
    return position


def _blank_line_between(text: str, events: YamlList) -> bool:
    previous_end = events[-2].end.index if hasattr(events[-2], "end") else None
    last_start = events.item_marks[-1].index
    if previous_end is None:
        return False
    between = text[previous_end:last_start]
    return "\n\n" in between.replace("\r\n", "\n").replace(" ", "")


def verify_append(before: LogFile, after: Log, fields: Mapping[str, Any]) -> None:
    """Raise unless `after` holds exactly the old content plus the new event, unchanged."""
    expected_events = [plain(event) for event in raw_events(before.log.data)] + [plain(fields)]
    actual_events = [plain(event) for event in raw_events(after.data)]
    old_rest = _without_events(before.log.data)
    new_rest = _without_events(after.data)
    if actual_events != expected_events or old_rest != new_rest:
        raise LogError(
            "internal check failed: the new text would not hold the old log plus the new event; "
            "nothing was written (please report this)",
            Location(before.path),
        )


def _without_events(data: Any) -> dict[str, Any]:
    if isinstance(data, dict):
        return {key: plain(value) for key, value in data.items() if key != "events"}
    return {}
