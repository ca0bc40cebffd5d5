"""Text surgery on a log: where an event's lines start and end, where new events go,
how one field's lines are replaced. Everything outside a splice stays byte for byte."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from tracker.errors import Location, LogError
from tracker.nodes import YamlList, YamlMap
from tracker.yamltext import dump_block_item, dump_fields


@dataclass(frozen=True)
class Splice:
    """Replace text[start:end] with `text`."""

    start: int
    end: int
    text: str


def apply_splices(text: str, splices: list[Splice]) -> str:
    """`text` with every splice applied; splices must not overlap."""
    ordered = sorted(splices, key=lambda splice: (splice.start, splice.end))
    for earlier, later in itertools.pairwise(ordered):
        if later.start < earlier.end:
            raise ValueError("overlapping splices")
    pieces, position = [], 0
    for splice in ordered:
        pieces += [text[position : splice.start], splice.text]
        position = splice.end
    pieces.append(text[position:])
    return "".join(pieces)


def events_list(data: Any) -> YamlList | None:
    """The `events:` list of a log (or the log itself when it is a bare list)."""
    if isinstance(data, YamlList):
        return data
    if isinstance(data, YamlMap) and isinstance(data.get("events"), YamlList):
        return data["events"]
    return None


def line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def end_of_line(text: str, index: int) -> int:
    newline_at = text.find("\n", index)
    return len(text) if newline_at < 0 else newline_at + 1


def after_space_lines(text: str, position: int) -> int:
    """`position` moved past the lines there that hold only spaces or tabs (an editor's leftovers): a new
    list item goes after them, so that none of them can become part of its last value."""
    while position < len(text):
        line_end = end_of_line(text, position)
        line = text[position:line_end].rstrip("\r\n")
        if not line or line.strip(" \t"):
            break
        position = line_end
    return position


def dash_column(text: str, item_index: int) -> int:
    """The column of the `-` that introduces the list item starting at `item_index`
    (on the same line, or alone on a line above it)."""
    position = item_index - 1
    while position >= 0 and text[position] in " \t\r\n":
        position -= 1
    if position >= 0 and text[position] == "-":
        return position - line_start(text, position)
    return max(item_index - line_start(text, item_index) - 2, 0)


def item_range(text: str, items: YamlList, index: int) -> tuple[int, int]:
    """The lines of list item `index`: from the start of its `-` line to the end of its last line,
    comment lines indented deeper than its dash included."""
    item_index = items.item_marks[index].index
    column = dash_column(text, item_index)
    position = item_index - 1
    while position >= 0 and text[position] != "-":
        position -= 1
    start = line_start(text, max(position, 0))
    return start, end_of_item(text, items[index], column)


def end_of_item(text: str, item: Any, column: int) -> int:
    """Where a list item's text ends: after its last value (a block scalar's trailing
    lines included), then over comment lines indented deeper than its dash."""
    end_index = item.end.index
    position = end_index if end_index > 0 and text[end_index - 1] == "\n" else end_of_line(text, end_index)
    while position < len(text):
        line_end = end_of_line(text, position)
        line = text[position:line_end]
        stripped = line.lstrip(" ")
        if stripped.startswith("#") and len(line) - len(stripped) > column:
            position = line_end
            continue
        break
    return position


def item_text(text: str, items: YamlList, index: int) -> str:
    """The item's own lines, shifted left so that its `-` is at column 0."""
    start, end = item_range(text, items, index)
    column = dash_column(text, items.item_marks[index].index)
    return "".join(_dedent_line(line, column) for line in text[start:end].splitlines(keepends=True))


def _dedent_line(line: str, column: int) -> str:
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, column) :]


def indent_lines(text: str, column: int) -> str:
    """`text` with every non-blank line moved right by `column` spaces."""
    pad = " " * column
    return "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))


def uses_blank_separators(text: str, items: YamlList) -> bool:
    """Whether the list's last two items are separated by a blank line (one a block scalar ends in counts)."""
    if len(items) < 2 or not hasattr(items[-2], "end"):
        return False
    between = text[items[-2].end.index : items.item_marks[-1].index]
    if "\n\n" in between.replace("\r\n", "\n").replace(" ", ""):
        return True
    line = line_start(text, items.item_marks[-1].index)
    return line > 0 and not text[line_start(text, line - 1) : line].strip(" \r\n")


def append_prefix(text: str, items: YamlList, insert_at: int, newline: str) -> tuple[str, str]:
    """What goes before a new item placed at `insert_at`, after the list's last item: a line break when the
    text there has none (`lead`), and a blank line when the list separates its items with them
    (`separator`), unless that blank line would become part of the last item (a block scalar that keeps
    its trailing lines, `|+`, ends it)."""
    lead = newline if insert_at and not text[:insert_at].endswith("\n") else ""
    if not uses_blank_separators(text, items):
        return lead, ""
    last_item = last_item_text(text, items, insert_at) + lead
    return lead, ("" if reads_differently(last_item, last_item + newline) else newline)


def last_item_text(text: str, items: YamlList, end: int) -> str:
    """The text of the list's last item, from the start of its dash's line to `end`."""
    return text[line_start(text, items.item_marks[-1].index) : end]


def reads_differently(first: str, second: str) -> bool:
    """Whether the YAML texts `first` and `second` hold different values (either unreadable counts as different)."""
    from tracker.errors import TrackerError
    from tracker.nodes import plain
    from tracker.yamltext import read_strict

    try:
        return plain(read_strict(first, "")[0]) != plain(read_strict(second, "")[0])
    except TrackerError:
        return True


def insert_events(text: str, newline: str, data: Any, new_events: list[dict[str, Any]], path: str) -> Splice:
    """One splice placing `new_events` after the last event, in the indentation the list uses.

    An empty file, a log without `events:`, `events:` with nothing under it and
    `events: []` all get a block list.
    """
    if data is not None and not isinstance(data, (YamlMap, YamlList)):
        raise LogError("the log is not a mapping with 'events:' or a list of events", Location(path, 1, 1))
    return insert_items(text, newline, data, "events", new_events, path)


def insert_items(
    text: str, newline: str, data: Any, key: str, new_items: list[Any], path: str, *, before: str | None = None
) -> Splice:
    """One splice placing `new_items` after the last item of the list under the top-level `key` (for
    `events`, a log that is a bare list is that list), in the indentation the list uses. `key: []` and `key:`
    with nothing under it become a block list; a missing key is added before the key `before` (else at the
    end of the file)."""
    items = events_list(data) if key == "events" else _list_under(data, key)
    if items is not None and items:
        if items.flow:
            mark = items.start
            raise LogError(
                f"the {key} list is written in flow style ([...]); write it as a block list ('- ' items) to add to it",
                Location(path, mark.line + 1, mark.column + 1),
            )
        column = dash_column(text, items.item_marks[-1].index)
        insert_at = after_space_lines(text, end_of_item(text, items[-1], column))
        lead, separator = append_prefix(text, items, insert_at, newline)
        between = newline if uses_blank_separators(text, items) else ""
        snippet = between.join(dump_block_item(item, " " * column, newline) for item in new_items)
        return Splice(insert_at, insert_at, lead + separator + snippet)
    if isinstance(data, YamlMap) and key in data:
        key_mark = data.key_marks[key]
        snippet = "".join(dump_block_item(item, " " * (key_mark.column + 2), newline) for item in new_items)
        if isinstance(items, YamlList):
            # `key: []`: the empty flow list becomes a block list.
            start = items.start.index
            while start > 0 and text[start - 1] == " ":
                start -= 1
            end = items.end.index
            tail_newline = "" if text[end:].startswith(("\n", "\r\n")) or end == len(text) else newline
            return Splice(start, end, newline + snippet.rstrip("\r\n") + tail_newline)
        insert_at = end_of_line(text, key_mark.index)
        lead = "" if text[:insert_at].endswith("\n") else newline
        return Splice(insert_at, insert_at, lead + snippet)
    if data is not None and not isinstance(data, YamlMap):
        if key == "events":
            raise LogError("the log is not a mapping with 'events:' or a list of events", Location(path, 1, 1))
        raise LogError(f"the log is not a mapping, so it has no '{key}'", Location(path, 1, 1))
    if isinstance(data, YamlMap) and before is not None and before in data:
        mark = data.key_marks[before]
        start = line_start(text, mark.index)
        indent = " " * mark.column
        snippet = "".join(dump_block_item(item, indent + "  ", newline) for item in new_items)
        return Splice(start, start, f"{indent}{key}:{newline}{snippet}")
    snippet = "".join(dump_block_item(item, "  ", newline) for item in new_items)
    lead = "" if not text or text.endswith("\n") else newline
    return Splice(len(text), len(text), lead + key + ":" + newline + snippet)


def _list_under(data: Any, key: str) -> YamlList | None:
    if isinstance(data, YamlMap) and isinstance(data.get(key), YamlList):
        return data[key]
    return None


def field_range(text: str, fields: YamlMap, key: str) -> tuple[int, int]:
    """From the key to the end of its value's last line (trailing blank lines left out)."""
    start = fields.key_marks[key].index
    end = fields.value_ends[key]
    while end > start and text[end - 1] in " \t\r\n":
        end -= 1
    return start, end_of_line(text, end)


def replace_field(text: str, fields: YamlMap, key: str, value: Any, newline: str) -> Splice:
    """A splice giving `key` a new value; its other lines and the event's other fields stay.

    A block list stays a block list, and a comment after a one-line value stays after it.
    """
    start, end = field_range(text, fields, key)
    column = fields.key_marks[key].column
    old = fields[key]
    if isinstance(old, YamlList) and not old.flow and old and isinstance(value, list) and value:
        dash = old.start.column
        items = "".join(dump_block_item(item, " " * dash, newline) for item in value)
        return Splice(start, end, f"{key}:{newline}{items}")
    replacement = dump_fields({key: value}, " " * column, newline)
    value_end = fields.value_ends[key]
    rest_of_line = text[value_end : end_of_line(text, value_end)].rstrip("\r\n")
    if rest_of_line.strip().startswith("#") and replacement.count("\n") == 1:
        replacement = replacement.rstrip("\r\n") + rest_of_line + newline
    return Splice(start, end, replacement)


def add_field(text: str, fields: YamlMap, key: str, value: Any, newline: str, *, after: str | None = None) -> Splice:
    """A splice adding `key: value` after the field `after` (default: the mapping's last field)."""
    last_key = after if after in fields else list(fields)[-1]
    _, end = field_range(text, fields, last_key)
    column = fields.key_marks[last_key].column
    lead = "" if text[:end].endswith("\n") else newline
    return Splice(end, end, lead + " " * column + dump_fields({key: value}, " " * column, newline))


def remove_field(text: str, fields: YamlMap, key: str) -> Splice:
    """A splice removing `key` and its value's lines. The first field of a list item gives
    its place after the `- ` to the next field."""
    start, end = field_range(text, fields, key)
    keys = list(fields)
    position = keys.index(key)
    before_key = text[line_start(text, start) : start]
    if before_key.strip():
        if position + 1 < len(keys):
            return Splice(start, fields.key_marks[keys[position + 1]].index, "")
        raise LogError("cannot remove the only field of an event", None)
    return Splice(line_start(text, start), end, "")


def remove_item(text: str, items: YamlList, index: int) -> Splice:
    """A splice removing list item `index`'s lines, and the blank line that set it apart, if any."""
    return remove_items(text, items, [index])[0]


def remove_items(text: str, items: YamlList, indexes: list[int]) -> list[Splice]:
    """Splices removing the lines of the list items at `indexes`: each run of neighbouring items goes with
    the text between them and the blank line that set the run apart, if any."""
    runs: list[list[int]] = []
    for index in sorted(set(indexes)):
        if runs and runs[-1][-1] == index - 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    splices = []
    for run in runs:
        start, end = item_range(text, items, run[0])[0], item_range(text, items, run[-1])[1]
        if start > 0 and text[:start].endswith(("\n\n", "\n\r\n")):
            if end < len(text) and not text[end : end_of_line(text, end)].strip():
                end = end_of_line(text, end)
            else:
                start = line_start(text, start - 1)
        splices.append(Splice(start, end, ""))
    return splices
