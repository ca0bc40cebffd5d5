"""Commands that change the log: add, edit, rm, import."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from tracker.cli.common import (
    FileOption,
    NoIndexOption,
    _count,
    _echo_error,
    _index_folder,
    _log_path,
    _option_date,
    _progress,
    _waiting,
    _warn,
    app,
)
from tracker.errors import TrackerError, UsageError
from tracker.formats import escape_controls


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
    no_index: NoIndexOption = False,
) -> None:
    """Append an event to the log safely, and print its id.

    Example: tracker add "North Korea fires an IRBM" --date "2 April 2024" -a "North Korea" --type missile-test
    """
    from tracker.edit import AppendEvents
    from tracker.model import new_event_fields
    from tracker.store import change_log

    start = _option_date("--date", event_date)
    finish = _option_date("--end", end)
    path = _log_path(file)

    def make_fields(log: Any) -> list[dict[str, Any]]:
        return [new_event_fields(
            log, title=title, date=start, end=finish, actors=actor or (), tags=tag or (), type=type,
            location=location, summary=summary, sources=source or (), quotes=quote or (),
            related=related or (), status=status, event_id=event_id,
        )]  # fmt: skip

    change = AppendEvents(make_fields)
    changed = change_log(
        path, change, index_folder=_index_folder(no_index), dry_run=dry_run, on_wait=_waiting, progress=_progress()
    )
    fields, log = change.events[0], changed.log
    for name in fields.get("actors", ()):
        if isinstance(log.data, dict) and not log.is_known_actor(name):
            _warn(f"actor '{name}' is not in the actors registry; {'would be ' if dry_run else ''}added as written")
    twins = [
        event.id
        for event in sorted(log.events_dated(start), key=lambda event: event.sort_key)
        if event.title.casefold() == title.strip().casefold() and event.id != fields["id"]
    ]
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
    no_index: NoIndexOption = False,
) -> None:
    """Change one event: with options, exactly those fields; without, in $VISUAL or $EDITOR.

    Only the changed lines of the file change. Renaming the id updates every related: that points to it.

    Example: tracker edit 2024-03-12-sullivan --set status=confirmed --add-tag trilateral
    """
    from tracker.edit import EditEvent
    from tracker.model import edited_fields
    from tracker.store import change_log

    path = _log_path(file)
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
        _edit_in_editor(path, event_id, dry_run=dry_run, no_index=no_index)
        return

    def edit_fields(log: Any, fields: dict[str, Any]) -> dict[str, Any]:
        return edited_fields(
            log, fields, set_values=values, unset=unset or (), add_actors=add_actor or (),
            remove_actors=remove_actor or (), add_tags=add_tag or (), remove_tags=remove_tag or (),
        )  # fmt: skip

    changed = change_log(
        path, EditEvent(event_id, edit_fields), index_folder=_index_folder(no_index), dry_run=dry_run,
        on_wait=_waiting, progress=_progress(),
    )  # fmt: skip
    if isinstance(changed.log.data, dict) and "actors" in changed.log.data:
        for name in add_actor or ():
            if not changed.log.is_known_actor(name):
                _warn(f"actor '{name}' is not in the actors registry; {'would be ' if dry_run else ''}added as written")
    _report_edit(changed, path, dry_run=dry_run)


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


def _report_edit(changed: Any, path: Path, *, dry_run: bool) -> None:
    result = changed.plan.details
    if dry_run:
        typer.echo(changed.diff(str(path)), nl=False)
        return
    if changed.unchanged:
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


def _edit_in_editor(path: Path, wanted: str, *, dry_run: bool, no_index: bool) -> None:
    """Open the event's YAML in $VISUAL/$EDITOR; reopen it with the error on top until it is
    valid, or until the editor quits without saving (then nothing changes)."""
    import shlex
    import subprocess
    import tempfile

    from tracker.edit import ConcurrentEdit, ReplaceEvent, event_text
    from tracker.store import change_log

    folder = _index_folder(no_index)
    event_id, original = event_text(path, wanted, index_folder=folder, progress=_progress())
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        if not sys.stdin.isatty():
            raise UsageError("no editor: set $VISUAL or $EDITOR, or edit with options such as --set FIELD=VALUE")
        editor = "vi"
    with tempfile.TemporaryDirectory(prefix="tracker-edit-") as draft_folder:
        draft = Path(draft_folder) / f"{event_id[:60]}.yaml"
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
                    path, ReplaceEvent(event_id, original, body), index_folder=folder, dry_run=dry_run,
                    on_wait=_waiting,
                )  # fmt: skip
            except ConcurrentEdit:
                raise
            except TrackerError as error:
                shown = (
                    f"{EDIT_HEADER}error: {error}\n{EDIT_HEADER}fix it and save, or quit without saving to cancel\n"
                    + body
                )
                continue
            _report_edit(changed, path, dry_run=dry_run)
            return
    raise TrackerError(f"gave up after {EDIT_ATTEMPTS} invalid edits; the log is unchanged")


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
    no_index: NoIndexOption = False,
) -> None:
    """Remove events: exactly their lines. Asks first on a terminal; --yes for scripts.

    Example: tracker rm 2024-04-10-biden-backs-kishida-dialogue --yes
    """
    from tracker.edit import RemoveEvents
    from tracker.store import change_log

    path = _log_path(file)
    change = RemoveEvents(event_ids, force=force)
    if not yes and not dry_run:
        if not sys.stdin.isatty():
            raise UsageError("refusing to remove events without confirmation; pass --yes")
        _confirm_removal(path, change, no_index=no_index)
    changed = change_log(
        path, change, index_folder=_index_folder(no_index), dry_run=dry_run, on_wait=_waiting, progress=_progress()
    )
    if dry_run:
        typer.echo(changed.diff(str(path)), nl=False)
        return
    if changed.plan.details:
        _echo_error(f"tracker: removed references from {', '.join(changed.plan.details)}")
    for event_id in change.event_ids:
        typer.echo(f"removed {escape_controls(event_id)}")


def _confirm_removal(path: Path, change: Any, *, no_index: bool) -> None:
    """Ask on the terminal whether to remove the events `change` names (listing them), or raise."""
    from tracker.errors import LogError
    from tracker.index import load_log
    from tracker.logfile import read_log
    from tracker.model import raw_events

    try:
        log = load_log(path, index_folder=_index_folder(no_index), progress=_progress())
    except LogError:
        log = read_log(path).log  # a log with errors: the event to remove may be the broken one
    change.wants(log)
    entries = {entry.get("id"): entry for entry in raw_events(log.data) if isinstance(entry, dict)}
    titles = {}
    for event_id in change.event_ids:
        event = log.event_by_id(event_id)
        titles[event_id] = event.title if event is not None else str(entries.get(event_id, {}).get("title") or "")
    listing = "\n".join(
        f"  {escape_controls(event_id)}  {escape_controls(title)}" for event_id, title in titles.items()
    )
    if not typer.confirm(f"Remove {len(titles)} event(s)?\n{listing}\n", default=False):
        raise TrackerError("nothing removed")


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
    no_index: NoIndexOption = False,
) -> None:
    """Append events from another file in one all-or-nothing write, printing their ids.

    Example: tracker import colleague.csv --map Headline=title --map Year=year --map Month=month --map Day=day
    """
    from tracker.importers import IMPORT_FORMATS, ImportEvents, guess_format, read_rows
    from tracker.logfile import decode
    from tracker.store import change_log

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
    change = ImportEvents(rows, name, today=date.today(), allow_duplicates=allow_duplicates)
    changed = change_log(
        path, change, index_folder=_index_folder(no_index), dry_run=dry_run, on_wait=_waiting, progress=_progress()
    )
    vetted = change.vetted
    for where, existing in vetted.duplicates:
        _warn(f"{name}: {where}: skipped, same date and title as {existing} (--allow-duplicates keeps it)")
    if dry_run:
        typer.echo(changed.plan.details if vetted.events else "", nl=False)
    else:
        for fields in vetted.events:
            typer.echo(escape_controls(fields["id"]))
    verb = "would import" if dry_run else "imported"
    _echo_error(f"tracker: {verb} {_count(len(vetted.events), 'event')} from {name} ({format_name})")
