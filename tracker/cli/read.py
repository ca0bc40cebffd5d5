"""Commands that read the log: list, timeline, show, export, stats, actors, check."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tracker.cli.common import (
    DEFAULT_COLUMNS,
    ActorOption,
    AllOption,
    ColumnsOption,
    FileOption,
    FormatOption,
    LimitOption,
    NoIndexOption,
    OnOption,
    RawOption,
    ReverseOption,
    SearchOption,
    SinceOption,
    TableFormatOption,
    TagOption,
    TypeOption,
    UntilOption,
    _complete_format,
    _count,
    _echo_error,
    _filters,
    _format_name,
    _index_folder,
    _load_log,
    _log_path,
    _progress,
    _selection,
    _split_columns,
    _use_color,
    _warn,
    app,
)
from tracker.errors import Problem, TrackerError, UsageError
from tracker.formats import FORMATS, Report, render
from tracker.query import STATS_KEYS


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
    no_index: NoIndexOption = False,
) -> None:
    """List events as a chronological table, or in any export format.

    Example: tracker list --on 2024-04 --actor kishida --format github
    """
    options = dict(
        since=since, until=until, on=on, actor=actor, tag=tag, type=type, search=search, all=all, limit=limit
    )
    if FORMATS[format].write is not None:
        selected = _selection(file, reverse=reverse, no_index=no_index, stream=True, **options)
        _write_events(selected, format, columns, raw=raw, title="", output=None)
        return
    selected = _selection(file, reverse=reverse, no_index=no_index, **options)
    typer.echo(_render_events(selected, format, columns, raw=raw), nl=False)


def _render_events(selected: Any, format_name: str, columns: list[str] | None, *, raw: bool, title: str = "") -> str:
    from tracker.formats import event_report

    log = selected.log
    chosen = _split_columns(columns)
    if not chosen and not FORMATS[format_name].all_fields:
        chosen = list(FORMATS[format_name].default_columns or DEFAULT_COLUMNS)
    _warn_unknown_columns(chosen, log)
    report = event_report(
        selected.events, log, columns=chosen, scope=selected.scope, raw=raw, title=title or _log_title(log)
    )
    return render(format_name, _fit(format_name, report))


def _write_events(
    selected: Any, format_name: str, columns: list[str] | None, *, raw: bool, title: str, output: Path | None
) -> int:
    """Write the selected events in a format that writes them as they are read, to stdout or atomically to
    `output`: memory stays the same whatever the number of events. How many were written."""
    from tracker.formats import Report
    from tracker.model import EVENT_FIELDS
    from tracker.query import selected_fields

    log = selected.log
    chosen = _split_columns(columns)
    _warn_unknown_columns(chosen, log)
    if not chosen and format_name in ("csv", "tsv"):
        chosen = selected_fields(log, **selected.filters) or list(EVENT_FIELDS)
    written = [0]

    def records() -> Any:
        for record in selected.events:
            written[0] += 1
            yield record

    report = Report(records(), columns=chosen, log=log, title=title or _log_title(log), scope=selected.scope, raw=raw)
    write = FORMATS[format_name].write
    assert write is not None
    collecting = gc.isenabled()
    gc.disable()  # each row is freed as it is written: no cycles to look for, 100,000 times
    try:
        if output is None:
            write_output(lambda out: write(report, out))
        else:
            from tracker.safefile import atomic_write_with

            atomic_write_with(output, lambda out: write(report, out))
    finally:
        if collecting:
            gc.enable()
    return written[0]


def write_output(produce: Any) -> None:
    """Hand what `produce` writes (text, piece by piece) to stdout as UTF-8, exactly: machine formats carry
    values as they are, control characters included."""
    stream = sys.stdout.buffer
    produce(lambda text: stream.write(text.encode("utf-8", "surrogateescape")))
    sys.stdout.flush()


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

    used = set(EVENT_FIELDS) | set(log.used_fields())
    for column in columns:
        if column not in used:
            close = suggest(column, sorted(used))
            hint = "; did you mean " + ", ".join(f"'{name}'" for name in close) + "?" if close else ""
            _warn(f"--columns: no event has a field '{column}'{hint}")


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
    no_index: NoIndexOption = False,
) -> None:
    """Show events for reading: year and month headings, one line per event.

    Example: tracker timeline --since 2024-02 --until 2024-04
    """
    from tracker.views import render_timeline

    selected = _selection(
        file, since=since, until=until, on=on, actor=actor, tag=tag, type=type,
        search=search, all=all, limit=limit, reverse=reverse, no_index=no_index,
    )  # fmt: skip
    typer.echo(render_timeline(selected.events, selected.log, color=_use_color()), nl=False)


@app.command()
def show(
    event_id: Annotated[str, typer.Argument(help="The id of the event to show.", metavar="ID")],
    file: FileOption = None,
    no_index: NoIndexOption = False,
) -> None:
    """Show one event in full: every field, its sources, quotes and related events.

    ID may be any unique prefix of an event id.

    Example: tracker show 2024-04-02-north-korea-tests-hypersonic-irbm
    """
    from tracker.query import match_id
    from tracker.views import render_event

    log = _load_log(file, no_index)
    event = log.event_by_id(event_id) or log.event_by_id(match_id(log.event_ids(), event_id))
    typer.echo(render_event(event, log, color=_use_color(), width=_text_width()), nl=False)


def _text_width() -> int:
    """Wrap width for prose: the terminal's width on a terminal (at most 100), else 88."""
    if not sys.stdout.isatty():
        return 88
    return max(40, min(typer.get_terminal_size().columns - 1, 100))


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
    no_index: NoIndexOption = False,
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
    options = dict(
        since=since, until=until, on=on, actor=actor, tag=tag, type=type, search=search, all=all, limit=limit
    )
    if FORMATS[format_name].write is not None:
        selected = _selection(file, reverse=reverse, no_index=no_index, stream=True, **options)
        count = _write_events(
            selected, format_name, columns, raw=raw, title=title or "", output=None if to_stdout else output
        )
    else:
        selected = _selection(file, reverse=reverse, no_index=no_index, **options)
        text = _render_events(selected, format_name, columns, raw=raw, title=title or "")
        count = len(selected.events)
        if to_stdout:
            typer.echo(text, nl=False)
        else:
            from tracker.safefile import atomic_write

            atomic_write(output, text.encode("utf-8"))  # type: ignore[arg-type]
    if not to_stdout:
        _echo_error(f"tracker: wrote {_count(count, 'event')} to {output} ({format_name})")


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
    no_index: NoIndexOption = False,
) -> None:
    """Count the selected events by year, month, actor, type or tag, with a bar per row.

    Example: tracker stats --by actor --since 2024
    """
    from tracker.formats import bar
    from tracker.query import count_selected, describe_filters

    key = by.lower()
    if key not in STATS_KEYS:
        raise UsageError(f"--by: '{by}' is not one of {', '.join(STATS_KEYS)}")
    _refuse_events_only(format)
    filters = _filters(
        since=since, until=until, on=on, actor=actor, tag=tag, type=type, search=search, all=all, limit=limit
    )
    log = _load_log(file, no_index)
    counts, warnings = count_selected(log, key, **filters)
    for warning in warnings:
        _warn(warning)
    scope = describe_filters(log, **filters)
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
def actors(
    file: FileOption = None,
    format: TableFormatOption = "table",
    no_index: NoIndexOption = False,
) -> None:
    """List actors with their aliases, number of events, and first and last dates.

    Example: tracker actors --format github
    """
    from tracker.views import ACTOR_COLUMNS, actor_records

    _refuse_events_only(format)
    log = _load_log(file, no_index)
    report = Report(records=actor_records(log), columns=list(ACTOR_COLUMNS))
    typer.echo(render(format, _fit(format, report)), nl=False)


def _refuse_events_only(format_name: str) -> None:
    if FORMATS[format_name].events_only:
        raise UsageError(f"--format: '{format_name}' exports events; use it with 'tracker list' or 'tracker export'")


@app.command()
def check(file: FileOption = None, no_index: NoIndexOption = False) -> None:
    """Check the log: silent when sound, else every problem as FILE:LINE:COL: message.

    Exit 1 when there are errors; warnings alone leave the exit at 0. What was found
    is remembered in the index, so checking the same content again is instant.

    Example: tracker check -f events.yaml
    """
    from tracker.check import check_log
    from tracker.logfile import read_log

    path = _log_path(file)
    index = _checked_index(path, no_index)
    problems = index.problems(str(path)) if index is not None else None
    if problems is None:
        try:
            log_file = read_log(path)
            problems = check_log(log_file.log, log_file.problems)
        except TrackerError as error:
            if error.exit_code != 1:
                raise
            problems = [Problem(error.location, error.message)] if error.location else []
            if not problems:
                raise
        if index is not None:
            index.record_problems(problems)
    for problem in problems:
        typer.echo(str(problem), err=True)
    if any(problem.is_error for problem in problems):
        raise typer.Exit(1)


def _checked_index(path: Path, no_index: bool) -> Any:
    """The log's index (built if need be) to remember check results in; None without one."""
    from tracker.index import IndexUnusable, open_index

    folder = _index_folder(no_index)
    if folder is None:
        return None
    try:
        return open_index(folder, path, progress=_progress())
    except IndexUnusable:
        return None
