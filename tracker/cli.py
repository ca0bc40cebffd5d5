"""The typer app: parse options, call the core, print, map errors to exit codes."""

from __future__ import annotations

import errno
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from tracker import __version__
from tracker.errors import DateError, Problem, TrackerError, UsageError
from tracker.formats import FORMATS, Report, render
from tracker.query import STATS_KEYS


class _TrackerGroup(TyperGroup):
    """The only exit point for errors: each becomes one line on stderr and its exit code."""

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
    from tracker.store import find_log

    return find_log(str(file) if file else None)


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


def _selection(
    file: Path | None,
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
    reverse: bool,
) -> Any:
    """Read the log, apply the filters, print warnings; returns the log, the events and a description of the filters."""
    from tracker.query import describe_filters, select_events
    from tracker.store import load_log

    since_date = _option_date("--since", since)
    until_date = _option_date("--until", until)
    on_dates = [_option_date("--on", text) for text in on or ()]
    filters: dict[str, Any] = {
        "since": since_date,
        "until": until_date,
        "on": on_dates,
        "actors": actor or (),
        "tags": tag or (),
        "types": type or (),
        "search": search or (),
        "match_all": all,
        "limit": limit,
    }
    log = load_log(_log_path(file))
    selection = select_events(log, reverse=reverse, **filters)
    for warning in selection.warnings:
        _warn(warning)
    return log, selection.events, describe_filters(log, **filters)


@app.command("list")
def list_events(
    file: FileOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    on: OnOption = None,
    actor: ActorOption = None,
    tag: TagOption = None,
    type: TypeOption = None,
    search: SearchOption = None,
    all: AllOption = False,
    limit: LimitOption = None,
    reverse: ReverseOption = False,
    format: FormatOption = "table",
    columns: ColumnsOption = None,
    raw: RawOption = False,
) -> None:
    """List events as a chronological table, or in any export format.

    Example: tracker list --on 2024-04 --actor kishida --format github
    """
    log, events, scope = _selection(
        file, since=since, until=until, on=on, actor=actor, tag=tag, type=type,
        search=search, all=all, limit=limit, reverse=reverse,
    )  # fmt: skip
    typer.echo(_render_events(events, log, format, columns, scope=scope, raw=raw), nl=False)


def _render_events(
    events: list[Any], log: Any, format_name: str, columns: list[str] | None, *, scope: str, raw: bool, title: str = ""
) -> str:
    from tracker.formats import event_report

    chosen = _split_columns(columns)
    if not chosen and not FORMATS[format_name].all_fields:
        chosen = list(FORMATS[format_name].default_columns or DEFAULT_COLUMNS)
    _warn_unknown_columns(chosen, log)
    report = event_report(events, log, columns=chosen, scope=scope, raw=raw, title=title or _log_title(log))
    return render(format_name, _fit(format_name, report))


def _log_title(log: Any) -> str:
    """The log's own title: a top-level `title:`, else its first comment line, else 'Timeline'."""
    data = log.data
    if isinstance(data, dict) and isinstance(data.get("title"), str):
        return data["title"]
    return log.heading or "Timeline"


def _fit(format_name: str, report: Any) -> Any:
    """On a terminal, shorten the default table's cells to the terminal's width."""
    if format_name != "table" or not sys.stdout.isatty():
        return report
    from tracker.formats import fit_to_width

    report.display = fit_to_width(report.display_records, report.columns, typer.get_terminal_size().columns)
    return report


def _warn_unknown_columns(columns: list[str], log: Any) -> None:
    from tracker.model import EVENT_FIELDS
    from tracker.query import suggest

    used = set(EVENT_FIELDS) | {key for event in log.events for key in event.fields}
    for column in columns:
        if column not in used:
            close = suggest(column, sorted(used))
            hint = "; did you mean " + ", ".join(f"'{name}'" for name in close) + "?" if close else ""
            _warn(f"--columns: no event has a field '{column}'{hint}")


def _export_epilog() -> str:
    width = max(len(name) for name in FORMATS)
    lines = [f"  {name.ljust(width)}  {entry.help}" for name, entry in FORMATS.items()]
    return "\b\nFormats (--format; or from the --output file's extension):\n" + "\n".join(lines)


@app.command(epilog=_export_epilog())
def export(
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-F",
            help="Output format (listed below); default: from --output's extension.",
            callback=lambda value: None if value is None else _format_name(value),
            autocompletion=_complete_format,
            metavar="FORMAT",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write to FILE, atomically, instead of stdout ('-' is stdout).", metavar="FILE"
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --output FILE if it exists.")] = False,
    title: Annotated[
        str | None, typer.Option("--title", help="Title of the report (default: the log's title).")
    ] = None,
    raw: RawOption = False,
    columns: ColumnsOption = None,
    file: FileOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    on: OnOption = None,
    actor: ActorOption = None,
    tag: TagOption = None,
    type: TypeOption = None,
    search: SearchOption = None,
    all: AllOption = False,
    limit: LimitOption = None,
    reverse: ReverseOption = False,
) -> None:
    """Export the selected events as a report: Markdown, HTML, LaTeX, iCalendar, TimelineJS, CSV...

    Without --format and --output, a Markdown briefing goes to stdout.

    Example: tracker export -F html -o timeline.html --since 2024
    """
    from tracker.formats import FORMAT_BY_SUFFIX

    to_stdout = output is None or str(output) == "-"
    format_name = format
    if format_name is None and to_stdout:
        format_name = "markdown"
    elif format_name is None:
        suffix = output.suffix.lower()  # type: ignore[union-attr]
        format_name = FORMAT_BY_SUFFIX.get(suffix)
        if format_name is None:
            known = ", ".join(sorted(FORMAT_BY_SUFFIX))
            raise UsageError(f"--output: no format is known for '{suffix or output}' ({known}); give --format")
    if not to_stdout:
        _check_output(output, force)  # type: ignore[arg-type]
    log, events, scope = _selection(
        file, since=since, until=until, on=on, actor=actor, tag=tag, type=type,
        search=search, all=all, limit=limit, reverse=reverse,
    )  # fmt: skip
    text = _render_events(events, log, format_name, columns, scope=scope, raw=raw, title=title or "")
    if to_stdout:
        typer.echo(text, nl=False)
        return
    from tracker.store import atomic_write

    atomic_write(output, text.encode("utf-8"))  # type: ignore[arg-type]
    _echo_error(f"tracker: wrote {_count(len(events), 'event')} to {output} ({format_name})")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _check_output(output: Path, force: bool) -> None:
    if output.is_dir():
        raise UsageError(f"--output: {output} is a folder")
    if not output.parent.is_dir() and str(output.parent):
        raise UsageError(f"--output: folder {output.parent} does not exist")
    if output.exists() and not force:
        raise UsageError(f"--output: {output} exists; use --force to replace it")


@app.command()
def stats(
    by: Annotated[
        str,
        typer.Option(
            "--by", help="Count by year, month, actor, type or tag.", metavar="KEY", autocompletion=lambda: STATS_KEYS
        ),
    ] = "year",
    format: TableFormatOption = "table",
    file: FileOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    on: OnOption = None,
    actor: ActorOption = None,
    tag: TagOption = None,
    type: TypeOption = None,
    search: SearchOption = None,
    all: AllOption = False,
    limit: LimitOption = None,
    reverse: Annotated[bool, typer.Option("--reverse", "-r", help="Rows in the opposite order.")] = False,
) -> None:
    """Count the selected events by year, month, actor, type or tag, with a bar per row.

    Example: tracker stats --by actor --since 2024
    """
    from tracker.formats import bar
    from tracker.query import count_events

    key = by.lower()
    if key not in STATS_KEYS:
        raise UsageError(f"--by: '{by}' is not one of {', '.join(STATS_KEYS)}")
    _refuse_events_only(format)
    log, events, scope = _selection(
        file, since=since, until=until, on=on, actor=actor, tag=tag, type=type,
        search=search, all=all, limit=limit, reverse=False,
    )  # fmt: skip
    counts = count_events(events, log, key)
    if reverse:
        counts.reverse()
    largest = max((count for _, count in counts), default=0)
    records = [{key: name, "events": count} for name, count in counts]
    display = [{**record, "": bar(record["events"], largest)} for record in records]
    with_bars = not FORMATS[format].machine and not format.startswith("latex")
    columns = [key, "events", ""] if with_bars else [key, "events"]
    report = Report(records=records, display=display, columns=columns, title=_log_title(log), scope=scope)
    typer.echo(render(format, report), nl=False)


@app.command()
def timeline(
    file: FileOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    on: OnOption = None,
    actor: ActorOption = None,
    tag: TagOption = None,
    type: TypeOption = None,
    search: SearchOption = None,
    all: AllOption = False,
    limit: LimitOption = None,
    reverse: ReverseOption = False,
) -> None:
    """Show events for reading: year and month headings, one line per event.

    Example: tracker timeline --since 2024-02 --until 2024-04
    """
    from tracker.views import render_timeline

    log, events, _ = _selection(
        file, since=since, until=until, on=on, actor=actor, tag=tag, type=type,
        search=search, all=all, limit=limit, reverse=reverse,
    )  # fmt: skip
    typer.echo(render_timeline(events, log, color=_use_color()), nl=False)


@app.command()
def show(
    event_id: Annotated[str, typer.Argument(help="The id of the event to show.", metavar="ID")],
    file: FileOption = None,
) -> None:
    """Show one event in full: every field, its sources, quotes and related events.

    ID may be any unique prefix of an event id.

    Example: tracker show 2024-04-02-north-korea-tests-hypersonic-irbm
    """
    from tracker.query import match_id
    from tracker.store import load_log
    from tracker.views import render_event

    log = load_log(_log_path(file))
    event = log.event_by_id(match_id([event.id for event in log.events], event_id))
    typer.echo(render_event(event, log, color=_use_color(), width=_text_width()), nl=False)


def _text_width() -> int:
    """Wrap width for prose: the terminal's width on a terminal (at most 100), else 88."""
    if not sys.stdout.isatty():
        return 88
    return max(40, min(typer.get_terminal_size().columns - 1, 100))


@app.command()
def add(
    title: Annotated[str, typer.Argument(help="One-line title of the event.", metavar="TITLE")],
    event_date: Annotated[
        str,
        typer.Option(
            "--date",
            "-d",
            help="When: ISO at any precision (2024, 2024-04, 2024-04-02) or '2 April 2024', 'yesterday', '3 days ago'.",
            metavar="DATE",
        ),
    ] = "today",
    end: Annotated[
        str | None, typer.Option("--end", help="End of a range, same forms as --date.", metavar="DATE")
    ] = None,
    actor: Annotated[
        list[str] | None, typer.Option("--actor", "-a", help="An actor (name or alias). Repeatable.", metavar="NAME")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", "-t", help="A tag. Repeatable.", metavar="TAG")] = None,
    type: Annotated[
        str | None, typer.Option("--type", help="Event type: statement, visit, summit, missile-test, speech, poll, ...")
    ] = None,
    location: Annotated[str | None, typer.Option("--location", "-l", help="Where it happened.")] = None,
    summary: Annotated[str | None, typer.Option("--summary", help="A few sentences in your own words.")] = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="A source id from the registry, or a URL. Repeatable.", metavar="ID|URL"),
    ] = None,
    quote: Annotated[
        list[str] | None,
        typer.Option("--quote", "-q", help="A short quote as 'WHO: TEXT'. Repeatable.", metavar="'WHO: TEXT'"),
    ] = None,
    related: Annotated[
        list[str] | None, typer.Option("--related", help="Id of a related event. Repeatable.", metavar="ID")
    ] = None,
    status: Annotated[str | None, typer.Option("--status", help="reported, confirmed, disputed or alleged.")] = None,
    event_id: Annotated[
        str | None, typer.Option("--id", help="Use this id instead of one made from date and title.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the YAML that would be added; change nothing.")
    ] = False,
    file: FileOption = None,
) -> None:
    """Append an event to the log safely, and print its id.

    Example: tracker add "North Korea fires an IRBM" --date "2 April 2024" -a "North Korea" --type missile-test
    """
    from tracker.check import check_log
    from tracker.edit import plan_append
    from tracker.model import new_event_fields
    from tracker.store import change_log

    start = _option_date("--date", event_date)
    finish = _option_date("--end", end)
    path = _log_path(file)

    def plan(current: Any) -> Any:
        fields = new_event_fields(
            current.log, title=title, date=start, end=finish, actors=actor or (), tags=tag or (), type=type,
            location=location, summary=summary, sources=source or (), quotes=quote or (),
            related=related or (), status=status, event_id=event_id,
        )  # fmt: skip
        added.append(fields)
        return plan_append(current, [fields])

    added: list[dict[str, Any]] = []
    changed = change_log(path, plan, check=check_log, dry_run=dry_run, on_wait=_waiting)
    fields = added[-1]
    for name in fields.get("actors", ()):
        if isinstance(changed.log.data, dict) and not changed.log.is_known_actor(name):
            _warn(f"actor '{name}' is not in the actors registry; added as written")
    twins = [
        event.id
        for event in changed.log.events
        if event.date == start and event.title.casefold() == title.strip().casefold()
        and event.id != fields["id"]
    ]  # fmt: skip
    if twins:
        _warn(f"an event with the same date and title already exists: {', '.join(twins)}")
    if start.start.date() > date.today():
        _warn(f"--date {start} is in the future")
    if dry_run:
        typer.echo(changed.plan.details, nl=False)
    else:
        typer.echo(fields["id"])


@app.command()
def edit(
    event_id: Annotated[str, typer.Argument(help="The id (or a unique prefix) of the event to edit.", metavar="ID")],
    set_values: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Set a field: FIELD=VALUE, VALUE read as YAML (tags=[a, b]). Repeatable.",
            metavar="FIELD=VALUE",
        ),
    ] = None,
    unset: Annotated[
        list[str] | None, typer.Option("--unset", help="Remove a field. Repeatable.", metavar="FIELD")
    ] = None,
    add_actor: Annotated[
        list[str] | None, typer.Option("--add-actor", help="Add an actor. Repeatable.", metavar="NAME")
    ] = None,
    remove_actor: Annotated[
        list[str] | None,
        typer.Option("--remove-actor", help="Remove an actor (name or alias). Repeatable.", metavar="NAME"),
    ] = None,
    add_tag: Annotated[
        list[str] | None, typer.Option("--add-tag", help="Add a tag. Repeatable.", metavar="TAG")
    ] = None,
    remove_tag: Annotated[
        list[str] | None, typer.Option("--remove-tag", help="Remove a tag. Repeatable.", metavar="TAG")
    ] = None,
    event_date: Annotated[
        str | None, typer.Option("--date", "-d", help="New date, any form 'add' accepts.", metavar="DATE")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="New end of the range, any form 'add' accepts.", metavar="DATE")
    ] = None,
    status: Annotated[str | None, typer.Option("--status", help="reported, confirmed, disputed or alleged.")] = None,
    title: Annotated[str | None, typer.Option("--title", help="New title (one line).")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print a unified diff of the change; write nothing.")
    ] = False,
    file: FileOption = None,
) -> None:
    """Change one event: with options, exactly those fields; without, in $VISUAL or $EDITOR.

    Only the changed lines of the file change. Renaming the id updates every related: that points to it.

    Example: tracker edit 2024-03-12-sullivan --set status=confirmed --add-tag trilateral
    """
    from tracker.check import check_log
    from tracker.edit import plan_edit_fields, unified_diff
    from tracker.model import edited_fields
    from tracker.store import change_log, read_log

    path = _log_path(file)
    log = read_log(path).log
    wanted = _resolve_raw_id(log, event_id)
    values = _set_values(set_values or [])
    for option, text in (("--date", event_date), ("--end", end)):
        if text is not None:
            values[option[2:]] = _date_text(option, text)
    if status is not None:
        values["status"] = status.strip().lower()
    if title is not None:
        values["title"] = title.strip()
    options_given = values or unset or add_actor or remove_actor or add_tag or remove_tag
    if not options_given:
        _edit_in_editor(path, wanted, dry_run=dry_run)
        return

    def plan(current: Any) -> Any:
        new_fields = edited_fields(
            current.log, plain_fields(current, wanted), set_values=values, unset=unset or (),
            add_actors=add_actor or (), remove_actors=remove_actor or (), add_tags=add_tag or (),
            remove_tags=remove_tag or (),
        )  # fmt: skip
        return plan_edit_fields(current, wanted, new_fields)

    changed = change_log(path, plan, check=check_log, dry_run=dry_run, on_wait=_waiting, may_fix=True)
    if isinstance(changed.log.data, dict) and "actors" in changed.log.data:
        for name in add_actor or ():
            if not changed.log.is_known_actor(name):
                _warn(f"actor '{name}' is not in the actors registry; added as written")
    _report_edit(changed, path, dry_run=dry_run, diff=unified_diff)


def plain_fields(current: Any, event_id: str) -> dict[str, Any]:
    """The event's fields as written, even when its date or title is unusable (so edit can fix it)."""
    from tracker.edit import find_index
    from tracker.nodes import plain
    from tracker.splice import events_list

    return plain(events_list(current.log.data)[find_index(current, event_id)])  # type: ignore[index]


def _resolve_raw_id(log: Any, wanted: str) -> str:
    """The id of the event `wanted` names, exactly or as a unique prefix, among every entry of the log."""
    from tracker.model import raw_events
    from tracker.query import match_id

    entries = [fields for fields in raw_events(log.data) if isinstance(fields, dict)]
    return match_id([fields["id"] for fields in entries if isinstance(fields.get("id"), str)], wanted)


def _set_values(assignments: list[str]) -> dict[str, Any]:
    from tracker.yamltext import parse_value

    values: dict[str, Any] = {}
    for assignment in assignments:
        key, separator, text = assignment.partition("=")
        key = key.strip()
        if not separator or not key:
            raise UsageError(f"--set: expected FIELD=VALUE, got {assignment!r}")
        try:
            value = parse_value(text, f"--set {key}")
        except TrackerError as error:
            raise UsageError(f"--set {key}: {error.message}") from None
        if key in ("date", "end") and isinstance(value, str):
            value = _date_text(f"--set {key}", value)
        values[key] = value
    return values


def _date_text(option: str, text: str) -> Any:
    from tracker.nodes import DateText

    return DateText(str(_option_date(option, text)))


def _report_edit(changed: Any, path: Path, *, dry_run: bool, diff: Any) -> None:
    result = changed.plan.details
    if dry_run:
        typer.echo(diff(str(path), changed.before.text, changed.text), nl=False)
        return
    if changed.text == changed.before.text:
        _echo_error(f"tracker: nothing to change in {result.old_id}")
        return
    if result.new_id != result.old_id:
        message = f"renamed {result.old_id} to {result.new_id}"
        if result.relinked:
            message += f"; updated related in {', '.join(result.relinked)}"
        _echo_error(f"tracker: {message}")
    typer.echo(result.new_id)


EDIT_HEADER = "# tracker: "
EDIT_ATTEMPTS = 20  # a person gives up sooner; a scripted $EDITOR that never fixes its text must not loop forever


def _edit_in_editor(path: Path, event_id: str, *, dry_run: bool) -> None:
    """Open the event's YAML in $VISUAL/$EDITOR; reopen it with the error on top until it is
    valid, or until the editor quits without saving (then nothing changes)."""
    import shlex
    import subprocess
    import tempfile

    from tracker.check import check_log
    from tracker.edit import find_index, plan_replace_event, unified_diff
    from tracker.splice import events_list, item_text
    from tracker.store import change_log, read_log

    current = read_log(path)
    original = item_text(current.text, events_list(current.log.data), find_index(current, event_id))  # type: ignore[arg-type]
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        if not sys.stdin.isatty():
            raise UsageError("no editor: set $VISUAL or $EDITOR, or edit with options such as --set FIELD=VALUE")
        editor = "vi"
    with tempfile.TemporaryDirectory(prefix="tracker-edit-") as folder:
        draft = Path(folder) / f"{event_id[:60]}.yaml"
        shown = original
        for _ in range(EDIT_ATTEMPTS):
            draft.write_text(shown, encoding="utf-8")
            try:
                finished = subprocess.run([*shlex.split(editor), str(draft)])
            except OSError as error:
                raise UsageError(
                    f"cannot run the editor {editor!r}: {error.strerror}; set $VISUAL or $EDITOR"
                ) from None
            try:
                edited = draft.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError) as error:
                reason = "is not UTF-8" if isinstance(error, UnicodeDecodeError) else "cannot be read"
                raise TrackerError(f"the edited file {reason}; the log is unchanged") from None
            if finished.returncode != 0:
                raise TrackerError(f"the editor exited with status {finished.returncode}; the log is unchanged")
            if edited == shown:
                if shown == original:
                    _echo_error(f"tracker: no changes to {event_id}")
                    return
                raise TrackerError("edit abandoned; the log is unchanged")
            body = "".join(line for line in edited.splitlines(keepends=True) if not line.startswith(EDIT_HEADER))
            if not body.strip():
                raise TrackerError("the edited text is empty; the log is unchanged")
            try:
                changed = change_log(
                    path,
                    lambda now, body=body: _replace_checked(now, event_id, original, body, plan_replace_event),
                    check=check_log,
                    dry_run=dry_run,
                    on_wait=_waiting,
                    may_fix=True,
                )
            except TrackerError as error:
                if getattr(error, "concurrent", False):
                    raise
                shown = (
                    f"{EDIT_HEADER}error: {error}\n{EDIT_HEADER}fix it and save, or quit without saving to cancel\n"
                    + body
                )
                continue
            _report_edit(changed, path, dry_run=dry_run, diff=unified_diff)
            return
    raise TrackerError(f"gave up after {EDIT_ATTEMPTS} invalid edits; the log is unchanged")


def _replace_checked(current: Any, event_id: str, original: str, body: str, plan_replace_event: Any) -> Any:
    from tracker.edit import find_index
    from tracker.splice import events_list, item_text

    now = item_text(current.text, events_list(current.log.data), find_index(current, event_id))  # type: ignore[arg-type]
    if now != original:
        error = TrackerError(f"{event_id} changed in the log while you were editing; run tracker edit again")
        error.concurrent = True  # type: ignore[attr-defined]
        raise error
    return plan_replace_event(current, event_id, body)


@app.command()
def rm(
    event_ids: Annotated[list[str], typer.Argument(help="Ids of the events to remove.", metavar="ID...")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (for scripts).")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Remove even when other events relate to it, and remove those references.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print a unified diff of the change; write nothing.")
    ] = False,
    file: FileOption = None,
) -> None:
    """Remove events: exactly their lines. Asks first on a terminal; --yes for scripts.

    Example: tracker rm 2024-04-10-biden-backs-kishida-dialogue --yes
    """
    from tracker.check import check_log
    from tracker.edit import plan_remove, referring_events, refuse_related, unified_diff
    from tracker.store import change_log, read_log

    path = _log_path(file)
    log = read_log(path).log
    event_ids = list(dict.fromkeys(_resolve_raw_id(log, event_id) for event_id in event_ids))
    referrers = referring_events(log.data, set(event_ids))
    if referrers and not force:
        refuse_related(referrers)
    if not yes and not dry_run:
        if not sys.stdin.isatty():
            raise UsageError("refusing to remove events without confirmation; pass --yes")
        from tracker.formats import escape_controls
        from tracker.model import raw_events

        titles = {
            entry.get("id"): str(entry.get("title") or "") for entry in raw_events(log.data) if isinstance(entry, dict)
        }
        listing = "\n".join(f"  {event_id}  {escape_controls(titles.get(event_id, ''))}" for event_id in event_ids)
        if not typer.confirm(f"Remove {len(event_ids)} event(s)?\n{listing}\n", default=False):
            raise TrackerError("nothing removed")
    changed = change_log(
        path,
        lambda current: plan_remove(current, event_ids, force=force),
        check=check_log,
        dry_run=dry_run,
        on_wait=_waiting,
        may_fix=True,
    )
    if dry_run:
        typer.echo(unified_diff(str(path), changed.before.text, changed.text), nl=False)
        return
    if changed.plan.details:
        _echo_error(f"tracker: removed references from {', '.join(changed.plan.details)}")
    for event_id in event_ids:
        typer.echo(f"removed {event_id}")


@app.command("import")
def import_events(
    source: Annotated[str, typer.Argument(help="File to read events from; '-' for standard input.", metavar="FILE")],
    from_format: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="yaml, json, jsonl, csv, tsv or timelinejs (default: from the extension or the content).",
            metavar="FORMAT",
        ),
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="Read a column as a field: COLUMN=FIELD (e.g. Headline=title, event_date=date, actor1=actors; "
            "year, month, day assemble a date). With --map, only mapped columns are read. Repeatable.",
            metavar="COLUMN=FIELD",
        ),
    ] = None,
    allow_duplicates: Annotated[
        bool, typer.Option("--allow-duplicates", help="Keep events whose date and title match an existing one.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the YAML that would be added; write nothing.")
    ] = False,
    file: FileOption = None,
) -> None:
    """Append events from another file in one all-or-nothing write, printing their ids.

    Example: tracker import colleague.csv --map Headline=title --map Year=year --map Month=month --map Day=day
    """
    from tracker.check import check_log
    from tracker.edit import plan_append
    from tracker.importers import IMPORT_FORMATS, guess_format, plan_import, read_rows
    from tracker.store import change_log, decode

    if from_format is not None and from_format.lower() not in IMPORT_FORMATS:
        raise UsageError(f"--from: '{from_format}' is not one of {', '.join(IMPORT_FORMATS)}")
    columns = {}
    for pair in mapping or ():
        column, separator, target = pair.partition("=")
        if not separator or not column.strip() or not target.strip():
            raise UsageError(f"--map: expected COLUMN=FIELD, got {pair!r}")
        columns[column.strip()] = target.strip()
    name = "<stdin>" if source == "-" else source
    if source == "-":
        raw = sys.stdin.buffer.read()
    else:
        try:
            raw = Path(source).read_bytes()
        except FileNotFoundError:
            raise UsageError(f"{source}: no such file") from None
        except IsADirectoryError:
            raise UsageError(f"{source}: is a folder") from None
        except OSError as error:
            raise TrackerError(f"{source}: cannot read: {error.strerror}") from None
    text = decode(raw, name).lstrip("\ufeff")
    format_name = (from_format or guess_format(name, text)).lower()
    rows = read_rows(text, format_name, name, mapping=columns)
    path = _log_path(file)

    def plan(current: Any) -> Any:
        vetted = plan_import(current.log, rows, name, today=date.today(), allow_duplicates=allow_duplicates)
        outcome.append(vetted)
        return plan_append(current, vetted.events)

    outcome: list[Any] = []
    changed = change_log(path, plan, check=check_log, dry_run=dry_run, on_wait=_waiting)
    vetted = outcome[-1]
    for where, existing in vetted.duplicates:
        _warn(f"{name}: {where}: skipped, same date and title as {existing} (--allow-duplicates keeps it)")
    if dry_run:
        typer.echo(changed.plan.details if vetted.events else "", nl=False)
    else:
        for fields in vetted.events:
            typer.echo(fields["id"])
    verb = "would import" if dry_run else "imported"
    _echo_error(f"tracker: {verb} {_count(len(vetted.events), 'event')} from {name} ({format_name})")


@app.command("merge-driver")
def merge_driver(
    base: Annotated[Path, typer.Argument(help="The common ancestor (git's %O).", metavar="BASE")],
    ours: Annotated[Path, typer.Argument(help="Our version; the result is written here (git's %A).", metavar="OURS")],
    theirs: Annotated[Path, typer.Argument(help="Their version (git's %B).", metavar="THEIRS")],
) -> None:
    """Merge three versions of a log by event id, for git (set up by 'tracker git-setup').

    Exit 0 when merged cleanly; 1 with conflict markers around each event changed differently on both sides.

    Example: tracker merge-driver %O %A %B
    """
    import subprocess

    from tracker.merge import merge_logs
    from tracker.store import atomic_write, decode

    texts = []
    for path in (base, ours, theirs):
        try:
            texts.append(decode(path.read_bytes(), str(path)))
        except OSError as error:
            raise UsageError(f"{path}: cannot read: {error.strerror}") from None
    line_merge = subprocess.run(
        ["git", "merge-file", "-p", "-q", str(ours), str(base), str(theirs)], capture_output=True
    )
    clean_line_merge = line_merge.stdout.decode("utf-8", "replace") if line_merge.returncode == 0 else None
    try:
        merged = merge_logs(*texts, line_merge=clean_line_merge)
    except (TrackerError, ValueError) as error:
        _echo_error(f"tracker: cannot merge by event id ({error}); falling back to a line-by-line merge")
        fallback = subprocess.run(
            ["git", "merge-file", "-L", "ours", "-L", "base", "-L", "theirs", str(ours), str(base), str(theirs)]
        )
        raise typer.Exit(1 if fallback.returncode else 0) from None
    from tracker.check import check_log
    from tracker.store import parse_text

    bom = "\ufeff" if texts[1].startswith("\ufeff") else ""
    atomic_write(ours, (bom + merged.text).encode("utf-8"))
    if merged.conflicts:
        for conflict in merged.conflicts:
            _echo_error(f"tracker: conflict in {conflict}")
        raise typer.Exit(1)
    if merged.unmerged_outside:
        _echo_error(
            "tracker: their side also changed text outside the events (title, comments, layout), which the merge by "
            "event id did not carry over; the events are merged; apply their other changes by hand "
            "(git diff MERGE_HEAD -- <log>), then git add"
        )
        raise typer.Exit(1)
    log, problems = parse_text(merged.text, str(ours))
    errors = [problem for problem in check_log(log, problems) if problem.is_error]
    if errors:
        for problem in errors:
            _echo_error(f"tracker: the merged log does not check: {problem.message}")
        raise typer.Exit(1)


@app.command("git-setup")
def git_setup(file: FileOption = None) -> None:
    """Make git merge the log by event id: a .gitattributes line and the merge.tracker driver in .git/config.

    Example: tracker git-setup
    """
    import shlex
    import shutil
    import subprocess

    path = _log_path(file).resolve()
    found = subprocess.run(
        ["git", "-C", str(path.parent), "rev-parse", "--show-toplevel"], capture_output=True, text=True
    )
    if found.returncode != 0:
        raise UsageError(f"{path.parent} is not inside a git repository (run git init first)")
    root = Path(found.stdout.strip()).resolve()
    relative = path.relative_to(root).as_posix()
    attributes = root / ".gitattributes"
    line = f"{relative} merge=tracker"
    existing = attributes.read_text(encoding="utf-8") if attributes.exists() else ""
    if line in existing.splitlines():
        _echo_error(f"tracker: {attributes} already has '{line}'")
    else:
        separator = "" if not existing or existing.endswith("\n") else "\n"
        attributes.write_text(existing + separator + line + "\n", encoding="utf-8")
        _echo_error(f"tracker: added '{line}' to {attributes}")
    program = shutil.which("tracker")
    command = shlex.quote(program) if program else f"{shlex.quote(sys.executable)} -m tracker"
    settings = {
        "merge.tracker.name": "tracker: merge events.yaml by event id",
        "merge.tracker.driver": f"{command} merge-driver %O %A %B",
    }
    for key, value in settings.items():
        subprocess.run(["git", "-C", str(root), "config", key, value], check=True)
        _echo_error(f"tracker: git config {key} '{value}'")
    _echo_error(
        "tracker: commit .gitattributes so that every clone merges the log this way, and run "
        "'tracker git-setup' once in each clone (git config is not shared); "
        f"add .{path.name}.lock to .gitignore"
    )


@app.command()
def actors(
    file: FileOption = None,
    format: TableFormatOption = "table",
) -> None:
    """List actors with their aliases, number of events, and first and last dates.

    Example: tracker actors --format github
    """
    from tracker.store import load_log
    from tracker.views import ACTOR_COLUMNS, actor_records

    _refuse_events_only(format)
    log = load_log(_log_path(file))
    report = Report(records=actor_records(log), columns=list(ACTOR_COLUMNS))
    typer.echo(render(format, _fit(format, report)), nl=False)


def _refuse_events_only(format_name: str) -> None:
    if FORMATS[format_name].events_only:
        raise UsageError(f"--format: '{format_name}' exports events; use it with 'tracker list' or 'tracker export'")


@app.command()
def check(file: FileOption = None) -> None:
    """Check the log: silent when sound, else every problem as FILE:LINE:COL: message.

    Exit 1 when there are errors; warnings alone leave the exit at 0.

    Example: tracker check -f events.yaml
    """
    from tracker.check import check_log
    from tracker.store import read_log

    path = _log_path(file)
    try:
        log_file = read_log(path)
        problems = check_log(log_file.log, log_file.problems)
    except TrackerError as error:
        if error.exit_code != 1:
            raise
        problems = [Problem(error.location, error.message)] if error.location else []
        if not problems:
            raise
    for problem in problems:
        typer.echo(str(problem), err=True)
    if any(problem.is_error for problem in problems):
        raise typer.Exit(1)


def main() -> None:
    """Entry point of the `tracker` console script."""
    app(prog_name="tracker")
