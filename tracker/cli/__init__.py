"""The typer app: parse options, call the core, print, map errors to exit codes.

common.py holds the app and what commands share; read.py, write.py and git.py the commands.
"""

import os
import sys
from typing import Any

from tracker.cli import git, read, write  # noqa: F401  (importing them registers their commands)
from tracker.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `tracker` console script."""
    only_the_command_named(sys.argv[1:])
    app(prog_name="tracker")


def only_the_command_named(arguments: list[str]) -> None:
    """When `arguments` name a command, let typer build that command alone (building all 13 costs
    more than a short command takes); anything else (help, completion, a typo) keeps them all."""
    if os.environ.get("_TRACKER_COMPLETE"):
        return
    name = next((argument for argument in arguments if not argument.startswith("-")), None)
    chosen = [info for info in app.registered_commands if _command_name(info) == name]
    if chosen:
        app.registered_commands = chosen


def _command_name(info: Any) -> str:
    return info.name or info.callback.__name__.replace("_", "-")
