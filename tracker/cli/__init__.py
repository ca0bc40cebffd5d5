"""The typer app: parse options, call the core, print, map errors to exit codes.

common.py holds the app and what commands share; read.py, write.py and git.py the commands.
"""

from tracker.cli import git, read, write  # noqa: F401  (importing them registers their commands)
from tracker.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the `tracker` console script."""
    app(prog_name="tracker")
