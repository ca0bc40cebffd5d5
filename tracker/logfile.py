"""Reading a log from disk: finding it, decoding it, parsing it strictly, and the problems found on the way."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.errors import Location, LogError, Problem, UsageError
from tracker.model import Log, build_log
from tracker.nodes import plain

LOG_NAME = "events.yaml"


@dataclass
class LogFile:
    """A log as read from disk (or a piece of one: see tracker.store): its text, how it is written,
    and what it holds."""

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
    log, problems = parse_text(text, display)
    return LogFile(display, text, bom, newline_of(text), log, problems)


def load_file_log(path: Path) -> Log:
    """Read the log for a reading command, from its file: the first error that makes it unusable raises."""
    log_file = read_log(path)
    raise_first_error(log_file.errors)
    return log_file.log


def newline_of(text: str) -> str:
    """The line break the text's first line ends with (LF when it has none): what new lines are written with."""
    first_break = text.find("\n")
    if first_break < 0:
        return "\r" if "\r" in text else "\n"
    return "\r\n" if text[first_break - 1 : first_break] == "\r" else "\n"


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


def document_view(data: Any) -> dict[str, Any]:
    """A log's content as plain data in one shape: a dict whose `events` is a list (maybe empty)."""
    if isinstance(data, list):
        return {"events": plain(data)}
    view = plain(data) if isinstance(data, dict) else {}
    view["events"] = view.get("events") or []
    return view
