"""Teamwork through git: the merge driver and its setup."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tracker.cli.common import (
    FileOption,
    _echo_error,
    _log_path,
    app,
)
from tracker.errors import TrackerError, UsageError


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

    from tracker.logfile import decode
    from tracker.merge import merge_logs
    from tracker.safefile import atomic_write

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
    from tracker.logfile import parse_text

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
