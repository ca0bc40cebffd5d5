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
    from tracker.model import new_event_fields
    from tracker.store import append_with_index

    start = _option_date("--date", event_date)
    finish = _option_date("--end", end)
    path = _log_path(file)

    def make_fields(log: Any) -> dict[str, Any]:
        return new_event_fields(
            log, title=title, date=start, end=finish, actors=actor or (), tags=tag or (), type=type,
            location=location, summary=summary, sources=source or (), quotes=quote or (),
            related=related or (), status=status, event_id=event_id,
        )  # fmt: skip

    folder = _index_folder(no_index)
    appended = None
    if folder is not None:
        appended = append_with_index(path, folder, make_fields, dry_run=dry_run, on_wait=_waiting, progress=_progress())
    if appended is None:
        appended = _append_whole(path, make_fields, dry_run=dry_run)
    fields, log = appended.fields, appended.log
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
        typer.echo(appended.text, nl=False)
    else:
        typer.echo(fields["id"])


def _append_whole(path: Path, make_fields: Any, *, dry_run: bool) -> Any:
    """Append through change_log, which reads, checks and verifies the whole log."""
    from tracker.check import check_log
    from tracker.edit import plan_append
    from tracker.store import Appended, change_log

    added: list[dict[str, Any]] = []

    def plan(current: Any) -> Any:
        added.append(make_fields(current.log))
        return plan_append(current, added[-1:])

    changed = change_log(path, plan, check=check_log, dry_run=dry_run, on_wait=_waiting)
    return Appended(added[-1], changed.plan.details, changed.log, changed.warnings)


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
                _warn(f"actor '{name}' is not in the actors registry; {'would be ' if dry_run else ''}added as written")
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
