"""What every command shares: the app, its error handling, the shared options, finding the log, selecting events."""

from __future__ import annotations

import errno
import os
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from tracker import __version__
from tracker.cli.coercion import use_plain_coercion
from tracker.errors import DateError, TrackerError, UsageError
from tracker.formats import FORMATS

COMMAND_ORDER = [
    "list", "timeline", "show", "add", "edit", "rm", "import",
    "export", "stats", "actors", "check", "git-setup", "merge-driver",
]  # fmt: skip
# The module that defines each command, so that running one imports only its module.
COMMAND_MODULES = {
    **dict.fromkeys(("list", "timeline", "show", "export", "stats", "actors", "check"), "read"),
    **dict.fromkeys(("add", "edit", "rm", "import"), "write"),
    **dict.fromkeys(("git-setup", "merge-driver"), "git"),
}


class _TrackerGroup(TyperGroup):
    """The only exit point for errors: each becomes one line on stderr and its exit code."""

    def list_commands(self, ctx: Any) -> list[str]:
        """Commands in the order a reader meets them, whatever order their modules load in."""
        names = super().list_commands(ctx)
        return sorted(names, key=lambda name: COMMAND_ORDER.index(name) if name in COMMAND_ORDER else len(names))

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        use_plain_coercion(self, ctx)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        use_plain_coercion(command, ctx)
        return name, command, rest

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TrackerError as error:
            prefix = "" if error.location is not None else "tracker: "
            _echo_error(f"{prefix}{error}")
            raise typer.Exit(error.exit_code) from None

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
            sys.stdout.flush()
        except OSError as error:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open: Python flushes stdout at exit
            if error.errno != errno.EPIPE:
                _echo_error(f"tracker: cannot write the output: {error.strerror or error}")
            sys.exit(1)
        except typer.Abort:
            _echo_error("tracker: aborted")
            sys.exit(1)
        except Exception as error:
            # typer's usage errors (bad option value, unknown option, missing argument)
            # carry an exit code and a message; show the message as one line.
            format_message = getattr(error, "format_message", None)
            exit_code = getattr(error, "exit_code", None)
            if format_message is None or not isinstance(exit_code, int):
                raise
            if type(error).__name__ == "NoArgsIsHelpError":
                typer.echo(format_message())
                sys.exit(0)
            command_path = getattr(getattr(error, "ctx", None), "command_path", None) or "tracker"
            _echo_error(f"{command_path}: {format_message()} (see '{command_path} --help')")
            sys.exit(exit_code)
        sys.exit(result if isinstance(result, int) else 0)


def _waiting() -> None:
    _echo_error("tracker: waiting for another tracker to finish writing the log...")


def _echo_error(message: str) -> None:
    from tracker.formats import escape_controls

    typer.echo(escape_controls(message), err=True)


app = typer.Typer(
    cls=_TrackerGroup,
    help="A timeline of events kept in a plain YAML file (events.yaml).",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _format_name(value: str) -> str:
    name = value.lower()
    if name not in FORMATS:
        from tracker.query import suggest

        close = suggest(name, list(FORMATS))
        hint = "; did you mean " + ", ".join(f"'{match}'" for match in close) + "?" if close else ""
        raise typer.BadParameter(f"unknown format '{value}'{hint}")
    return name


def _complete_format(incomplete: str) -> list[str]:
    return [name for name in FORMATS if name.startswith(incomplete)]


FORMAT_HELP = "Output format: " + ", ".join(FORMATS) + "."
TABLE_FORMAT_HELP = (
    "Output format: " + ", ".join(name for name, entry in FORMATS.items() if not entry.events_only) + "."
)

FileOption = Annotated[
    Path | None,
    typer.Option(
        "--file",
        "-f",
        envvar="TRACKER_FILE",
        help="The log file. Default: $TRACKER_FILE, else events.yaml here or in the nearest parent folder.",
        metavar="PATH",
        dir_okay=True,
    ),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since", help="Events whose period reaches DATE or later (any precision, or 'last month'...).", metavar="DATE"
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option(
        "--until", help="Events that begin by the end of DATE's period (2024-03 means all of March).", metavar="DATE"
    ),
]
OnOption = Annotated[
    list[str] | None,
    typer.Option(
        "--on", help="Events overlapping DATE's whole period (2024, 2024-04, 2024-04-11). Repeatable.", metavar="DATE"
    ),
]
ActorOption = Annotated[
    list[str] | None,
    typer.Option(
        "--actor",
        "-a",
        help="Events naming this actor or one of its aliases (case, hyphens, spacing ignored). Repeatable.",
        metavar="NAME",
    ),
]
TagOption = Annotated[
    list[str] | None, typer.Option("--tag", "-t", help="Events with this tag. Repeatable.", metavar="TAG")
]
TypeOption = Annotated[
    list[str] | None,
    typer.Option("--type", help="Events of this type (statement, visit, ...). Repeatable.", metavar="TYPE"),
]
SearchOption = Annotated[
    list[str] | None,
    typer.Option(
        "--search",
        "-s",
        help="Events whose title, summary or quotes contain TEXT (case ignored). Repeatable.",
        metavar="TEXT",
    ),
]
AllOption = Annotated[bool, typer.Option("--all", help="Repeated --actor / --tag must all match (default: any).")]
LimitOption = Annotated[
    int | None, typer.Option("--limit", "-n", min=0, help="Only the N most recent matching events.", metavar="N")
]
ReverseOption = Annotated[bool, typer.Option("--reverse", "-r", help="Newest first.")]
FormatOption = Annotated[
    str,
    typer.Option(
        "--format", "-F", help=FORMAT_HELP, callback=_format_name, autocompletion=_complete_format, metavar="FORMAT"
    ),
]
TableFormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        "-F",
        help=TABLE_FORMAT_HELP,
        callback=_format_name,
        autocompletion=_complete_format,
        metavar="FORMAT",
    ),
]
ColumnsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--columns",
        "-c",
        help="Fields to show, comma-separated or repeated (default: date,id,title,actors).",
        metavar="FIELDS",
    ),
]

RawOption = Annotated[
    bool,
    typer.Option(
        "--raw", help="csv/tsv: write cells exactly, without the ' that keeps spreadsheets from running formulas."
    ),
]

NoIndexOption = Annotated[
    bool,
    typer.Option(
        "--no-index",
        envvar="TRACKER_NO_INDEX",
        help="Read the log itself, not its index in the cache folder ($TRACKER_NO_INDEX=1 does the same).",
    ),
]

DEFAULT_COLUMNS = ("date", "id", "title", "actors")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tracker {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """A timeline of events kept in a plain YAML file (events.yaml).

    Example: tracker list --since 2024-03 --actor "Kim Yo Jong"
    """


def _use_color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _warn(message: str) -> None:
    _echo_error(f"tracker: warning: {message}")


def _log_path(file: Path | None) -> Path:
    from tracker.logfile import find_log

    return find_log(str(file) if file else None)


def _index_folder(no_index: bool) -> Path | None:
    """The cache folder for indexes, or None when the index is not to be used."""
    if no_index:
        return None
    from tracker.index import cache_folder

    return cache_folder(os.environ, Path.home())


def _progress() -> Any:
    """A progress bar on stderr while a large log is indexed, when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None
    shown = [False]

    def report(done: int, total: int) -> None:
        if total < 5000 and not shown[0]:
            return
        shown[0] = True
        width = 30
        filled = width * done // max(total, 1)
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\rindexing the log [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} events{end}")
        sys.stderr.flush()

    return report


def _load_log(file: Path | None, no_index: bool) -> Any:
    """The log to read: from its index unless `no_index`."""
    from tracker.index import load_log

    return load_log(_log_path(file), index_folder=_index_folder(no_index), progress=_progress())


def _option_date(option: str, text: str | None) -> Any:
    if text is None:
        return None
    from tracker.dates import parse_user_date

    try:
        return parse_user_date(text, date.today())
    except DateError as error:
        raise UsageError(f"{option}: {error}") from None


def _split_columns(columns: list[str] | None) -> list[str]:
    return [name.strip() for value in columns or () for name in value.split(",") if name.strip()]


def _filters(
    *,
    since: str | None,
    until: str | None,
    on: list[str] | None,
    actor: list[str] | None,
    tag: list[str] | None,
    type: list[str] | None,
    search: list[str] | None,
    all: bool,
    limit: int | None,
) -> dict[str, Any]:
    """The filter options as the query layer takes them (dates read, empty repeats as tuples)."""
    return {
        "since": _option_date("--since", since),
        "until": _option_date("--until", until),
        "on": [_option_date("--on", text) for text in on or ()],
        "actors": actor or (),
        "tags": tag or (),
        "types": type or (),
        "search": search or (),
        "match_all": all,
        "limit": limit,
    }


@dataclass
class Selected:
    """What a reading command selected: the log, the events (their fields, as an iterator, when streamed),
    the filters as the query layer takes them, and the filters in words."""

    log: Any
    events: Any
    filters: dict[str, Any]
    scope: str


def _selection(
    file: Path | None, *, reverse: bool, no_index: bool = False, stream: bool = False, **options: Any
) -> Selected:
    """Read the log, apply the filters, print warnings. With `stream`, `events` are the events' fields as
    plain data, read as they are used."""
    from tracker.query import describe_filters, select_events, stream_records

    filters = _filters(**options)
    log = _load_log(file, no_index)
    selection = (stream_records if stream else select_events)(log, reverse=reverse, **filters)
    for warning in selection.warnings:
        _warn(warning)
    return Selected(log, selection.events, filters, describe_filters(log, **filters))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
