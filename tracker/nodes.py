"""The shapes the strict reader builds: mappings and lists that remember where they stand.

Kept apart from the YAML parser so that reading from the index never imports it.
"""

from __future__ import annotations

from typing import Any


class Mark(tuple):
    """(line, column, index) of a node, 0-based as PyYAML gives them."""

    __slots__ = ()

    @property
    def line(self) -> int:
        return self[0]

    @property
    def column(self) -> int:
        return self[1]

    @property
    def index(self) -> int:
        return self[2]


class YamlMap(dict):
    """A mapping that remembers where it and each of its keys and values stand."""

    __slots__ = ("end", "flow", "key_marks", "start", "value_ends", "value_marks")

    start: Mark
    end: Mark
    key_marks: dict[str, Mark]
    value_marks: dict[str, Mark]
    value_ends: dict[str, int]
    flow: bool


class YamlList(list):
    """A sequence that remembers where it and each of its items stand."""

    __slots__ = ("end", "flow", "item_marks", "start")

    start: Mark
    end: Mark
    item_marks: list[Mark]
    flow: bool


def plain(value: Any) -> Any:
    """A deep copy as builtin dict/list/str, for comparison and dumping."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


class DateText(str):
    """A date string written unquoted, as people write dates in the log."""
