"""The typer app: parse options, call the core, print, map errors to exit codes.

common.py holds the app and what commands share; read.py, write.py and git.py the commands.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    if name == "app":
        return _app_with(("read", "write", "git"))
    raise AttributeError(name)


def _app_with(modules: tuple[str, ...]) -> Any:
    """The app, with the commands of `modules` registered (importing a module registers its commands)."""
    for module in modules:
        importlib.import_module(f"tracker.cli.{module}")
    from tracker.cli.common import app

    return app


def main() -> None:
    """Entry point of the `tracker` console script."""
    from tracker.cli.common import COMMAND_MODULES

    name = next((argument for argument in sys.argv[1:] if not argument.startswith("-")), None)
    if name in COMMAND_MODULES and not os.environ.get("_TRACKER_COMPLETE"):
        # Build only the command asked for: building all 13 costs more than a short command takes.
        app = _app_with((COMMAND_MODULES[name],))
        app.registered_commands = [info for info in app.registered_commands if _command_name(info) == name]
    else:  # help, completion, a typo: every command
        app = _app_with(("read", "write", "git"))
    app(prog_name="tracker")


def _command_name(info: Any) -> str:
    return info.name or info.callback.__name__.replace("_", "-")
