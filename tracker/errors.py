"""Errors a user can act on, and the problems `check` reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """A place in a file: 1-based line and column, as editors count them."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class TrackerError(Exception):
    """An error with a message a user can act on; the CLI exits with `exit_code`."""

    exit_code = 1

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        if self.location is None:
            return self.message
        return f"{self.location}: {self.message}"


class LogError(TrackerError):
    """The log (or another input file) is invalid: exit 1."""


class UsageError(TrackerError):
    """An option or argument is wrong, or no log was found: exit 2."""

    exit_code = 2


class DateError(ValueError):
    """A date string could not be read; callers add where it came from."""


@dataclass(frozen=True)
class Problem:
    """One finding of `check`: an error blocks writes, a warning never does."""

    location: Location
    message: str
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        prefix = "" if self.is_error else "warning: "
        return f"{self.location}: {prefix}{self.message}"
