"""A fast reader for the plain YAML that logs are made of, giving exactly what the strict reader gives.

A large log is mostly events written one way: `key: value` lines, flow lists of
plain names, quoted strings, folded or literal blocks, short lists of quotes.
This reader splits the events list into one chunk per event and reads each chunk
line by line. Any line it does not fully understand sends that event to the
strict PyYAML reader instead, so the result (values and positions) is always the
strict reader's; tests compare the two on generated logs.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from tracker.errors import LogError
from tracker.nodes import Mark, YamlList, YamlMap
from tracker.yamltext import read_strict

_KEY_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?:( +)(.*))?$")
_PLAIN_BAD_START = frozenset("&*!%@`|>{[]},#'\"?:-")
_NULLS = frozenset(("~", "null", "Null", "NULL"))
_FLOW_ITEM = re.compile(r"[^\s,\[\]{}#&*!|>'\"%@`?:-][^,\[\]{}#]*?", re.ASCII)
# `A, B C, D-e`: plain items, one space after each comma, nothing YAML reads specially.
_SIMPLE_FLOW = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._/()-]*(?<! )(?:, [A-Za-z0-9][A-Za-z0-9 ._/()-]*(?<! ))*")
_EVENTS_KEY = re.compile(r"events:[ ]*(?:#.*)?$")
_BLOCK_HEADER = re.compile(r"([|>])([+-]?)(?:( +)#.*)?$")


class Unsupported(Exception):
    """This text needs the strict reader."""


def split_events(lines: list[str]) -> tuple[int, int, int] | None:
    """Where the top-level `events:` block list is: (first line, end line, dash column), or None.

    Only a block list under a column-0 `events:` key (or a bare top-level list) qualifies.
    """
    first = None
    for number, line in enumerate(lines):
        if _EVENTS_KEY.match(line):
            first = number + 1
            break
    if first is None:
        return None
    dash_column = None
    end = len(lines)
    for number in range(first, len(lines)):
        line = lines[number]
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        if dash_column is None:
            if not (stripped.startswith("- ") or stripped == "-"):
                return None
            dash_column = indent
            continue
        if indent < dash_column or (indent == dash_column and not (stripped.startswith("- ") or stripped == "-")):
            end = number
            break
    if dash_column is None:
        return None
    return first, end, dash_column


def item_starts(lines: list[str], first: int, end: int, column: int) -> list[int]:
    """The line numbers where each item of the block list starts."""
    prefix = " " * column + "-"
    return [
        number
        for number in range(first, end)
        if lines[number].startswith(prefix) and lines[number][column + 1 : column + 2] in (" ", "")
    ]


def read_item(lines: list[str], offsets: list[int], start: int, stop: int, column: int) -> YamlMap:
    """The mapping of the list item on lines [start, stop), with positions as the strict reader gives them.

    Raises Unsupported for anything but the common shapes.
    """
    reader = _ItemReader(lines, offsets, start, stop, column)
    return reader.read()


class _ItemReader:
    def __init__(self, lines: list[str], offsets: list[int], start: int, stop: int, column: int) -> None:
        self.lines = lines
        self.offsets = offsets
        self.start = start
        self.stop = stop
        self.column = column

    def mark(self, line: int, column: int) -> Mark:
        return Mark((line, column, self.offsets[line] + column))

    def new_mapping(self, line: int, column: int) -> YamlMap:
        mapping = YamlMap()
        mapping.key_marks = {}
        mapping.value_marks = {}
        mapping.value_ends = {}
        mapping.flow = False
        mapping.start = self.mark(line, column)
        return mapping

    def read(self) -> YamlMap:
        first_line = self.lines[self.start]
        after_dash = first_line[self.column + 1 :]
        if not after_dash.strip(" \t"):
            raise Unsupported("an item starting on the line after its dash")
        key_column = self.column + 1 + (len(after_dash) - len(after_dash.lstrip(" ")))
        mapping = self.new_mapping(self.start, key_column)
        number = self.start
        last_end = None
        while number < self.stop:
            line = self.lines[number]
            if "\t" in line:
                raise Unsupported("tab")
            stripped = line.lstrip(" ")
            indent = len(line) - len(stripped)
            if number != self.start and (not stripped or stripped.startswith("#")):
                number += 1
                continue
            if indent != key_column and number != self.start:
                raise Unsupported("unexpected indentation")
            match = _KEY_LINE.match(line, key_column)
            if match is None:
                raise Unsupported("not a simple key line")
            key = match[1]
            if key in mapping or key in _NULLS:
                raise Unsupported("duplicate or odd key")
            mapping.key_marks[key] = self.mark(number, key_column)
            raw = match[3]
            value_column = match.end(2) if match[2] else len(line.rstrip(" \t"))
            if raw is None or not raw.strip(" \t") or raw.lstrip(" \t").startswith("#"):
                value, value_mark, value_end, end_line, number = self.nested(number, key_column, match)
            elif raw[0] in "|>":
                value, value_mark, value_end, end_line, number = self.block_scalar(
                    number, key_column, value_column, raw
                )
            elif raw[0] == "[":
                value, value_mark, value_end = self.flow_list(number, value_column, raw)
                end_line = number
                number += 1
            else:
                text, length = _scalar(raw)
                value = text
                value_mark = self.mark(number, value_column)
                value_end = value_mark.index + length
                end_line = number
                number += 1
            mapping[key] = value
            mapping.value_marks[key] = value_mark
            mapping.value_ends[key] = value_end
            last_end = (end_line, value_end)
        if last_end is None:
            raise Unsupported("empty item")
        mapping.end = _end_mark(self, *last_end)
        return mapping

    def next_content(self, number: int) -> int:
        while number < self.stop:
            stripped = self.lines[number].strip(" \t")
            if stripped and not stripped.startswith("#"):
                return number
            number += 1
        return number

    def nested(self, number: int, key_column: int, match: re.Match[str]) -> tuple[Any, Mark, int, int, int]:
        following = self.next_content(number + 1)
        line = self.lines[following] if following < self.stop else ""
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if following < self.stop and indent >= key_column and (stripped.startswith("- ") or stripped == "-"):
            return self.block_list(following, indent)
        if following < self.stop and indent > key_column:
            raise Unsupported("a nested mapping or a multi-line plain scalar")
        # An empty value: PyYAML marks the empty scalar right after the colon.
        end_of_colon = self.offsets[number] + match.end(1) + 1
        mark = _end_mark(self, number, end_of_colon)
        return None, mark, end_of_colon, number, number + 1

    def block_list(self, number: int, dash_indent: int) -> tuple[Any, Mark, int, int, int]:
        items = YamlList()
        items.item_marks = []
        items.flow = False
        items.start = self.mark(number, dash_indent)
        end_index = None
        while number < self.stop:
            line = self.lines[number]
            stripped = line.lstrip(" ")
            indent = len(line) - len(stripped)
            if not stripped or stripped.startswith("#"):
                number += 1
                continue
            if indent != dash_indent or not stripped.startswith("- "):
                if indent > dash_indent:
                    raise Unsupported("a continuation inside a list item")
                break
            body = stripped[2:]
            body_column = dash_indent + 2 + (len(body) - len(body.lstrip(" ")))
            body = body.lstrip(" ")
            if _KEY_LINE.match(line, body_column) and not body.startswith(("'", '"')):
                item, item_end, number = self.list_mapping(number, body_column)
                items.append(item)
                items.item_marks.append(item.start)
                end_index = item_end
                end_line = item.end.line
                continue
            if not body or body[0] in "[{|>":
                raise Unsupported("a nested collection in a list")
            text, length = _scalar(body)
            items.append(text)
            items.item_marks.append(self.mark(number, body_column))
            end_index = self.offsets[number] + body_column + length
            end_line = number
            number += 1
        if end_index is None:
            raise Unsupported("empty list")
        items.end = _end_mark(self, end_line, end_index)
        return items, items.start, end_index, end_line, number

    def list_mapping(self, number: int, key_column: int) -> tuple[YamlMap, int, int]:
        mapping = self.new_mapping(number, key_column)
        end_index = None
        first = True
        while number < self.stop:
            line = self.lines[number]
            stripped = line.lstrip(" ")
            indent = len(line) - len(stripped)
            if not first and (not stripped or stripped.startswith("#")):
                number += 1
                continue
            if not first and indent != key_column:
                if indent > key_column:
                    raise Unsupported("deeper nesting in a list of mappings")
                break
            first = False
            match = _KEY_LINE.match(line, key_column)
            if match is None or match[1] in mapping:
                raise Unsupported("not a simple key in a list of mappings")
            raw = match[3]
            if raw is None or not raw.strip(" \t") or raw.lstrip(" \t").startswith("#") or raw[0] in "|>{":
                raise Unsupported("a nested value in a list of mappings")
            value_column = match.end(2)
            if raw[0] == "[":
                value, value_mark, value_end = self.flow_list(number, value_column, raw)
            else:
                text, length = _scalar(raw)
                value, value_mark = text, self.mark(number, value_column)
                value_end = value_mark.index + length
            key = match[1]
            mapping[key] = value
            mapping.key_marks[key] = self.mark(number, key_column)
            mapping.value_marks[key] = value_mark
            mapping.value_ends[key] = value_end
            end_index = value_end
            end_line = number
            number += 1
        mapping.end = _end_mark(self, end_line, end_index)  # type: ignore[arg-type]
        return mapping, end_index, number  # type: ignore[return-value]

    def flow_list(self, number: int, column: int, raw: str) -> tuple[Any, Mark, int]:
        body = raw.partition(" #")[0]
        body = body.rstrip(" ")
        if not body.endswith("]") or "]" in body[:-1] or "[" in body[1:]:
            raise Unsupported("a flow list over several lines or nested")
        items = YamlList()
        items.flow = True
        items.item_marks = []
        items.start = self.mark(number, column)
        inner = body[1:-1]
        position = column + 1
        if _SIMPLE_FLOW.fullmatch(inner) and not any(part in _NULLS for part in inner.split(", ")):
            base = self.offsets[number] + position
            line_start = self.offsets[number]
            for part in inner.split(", "):
                items.append(part)
                items.item_marks.append(Mark((number, base - line_start, base)))
                base += len(part) + 2
        elif inner.strip(" \t"):
            for part in inner.split(","):
                leading = len(part) - len(part.lstrip(" "))
                item = part.strip(" ")
                if not item:
                    raise Unsupported("an empty flow item")
                if item[0] in "'\"":
                    text, length = _quoted(item)
                    if length != len(item):
                        raise Unsupported("text after a quoted flow item")
                elif _FLOW_ITEM.fullmatch(item) and ": " not in item and not item.endswith(":"):
                    text = None if item in _NULLS else item
                else:
                    raise Unsupported("a flow item that needs the strict reader")
                items.append(text)
                items.item_marks.append(self.mark(number, position + leading))
                position += len(part) + 1
        end = self.offsets[number] + column + len(body)
        items.end = _end_mark(self, number, end)
        return items, items.start, end

    def block_scalar(self, number: int, key_column: int, column: int, raw: str) -> tuple[Any, Mark, int, int, int]:
        mark = self.mark(number, column)
        value, end_line = _block_scalar(self.lines, number, self.stop, key_column, raw)
        # PyYAML ends a block scalar at the start of the next content line, blank lines consumed, or at the
        # end of the text (offsets[-1] is one past it, as if the text ended in a newline).
        end = min(self.offsets[end_line] if end_line < len(self.offsets) else self.offsets[-1], self.offsets[-1] - 1)
        return value, mark, end, min(end_line, len(self.offsets) - 2), end_line


def _block_scalar(lines: list[str], number: int, stop: int, key_column: int, raw: str) -> tuple[str, int]:
    """The value of the block scalar whose header `raw` ends line `number`, and the line after it."""
    header = _BLOCK_HEADER.match(raw.rstrip(" "))
    if header is None:
        raise Unsupported("a block scalar header with an indentation indicator")
    style, chomping = header[1], header[2]
    content: list[str] = []
    content_indent = None
    following = number + 1
    last_content = number
    while following < stop:
        line = lines[following]
        if "\t" in line:
            raise Unsupported("tab")
        stripped = line.lstrip(" ")
        if not stripped:
            if line and (content_indent is None or len(line) > content_indent):
                raise Unsupported("a line of spaces that may hold some of them")
            content.append("")
            following += 1
            continue
        indent = len(line) - len(stripped)
        if content_indent is None:
            if indent <= key_column:
                break
            content_indent = indent
        if indent < content_indent:
            break
        if indent > content_indent and style == ">":
            raise Unsupported("more-indented lines in a folded block")
        content.append(line[content_indent:])
        last_content = following
        following += 1
    if content_indent is None:
        raise Unsupported("an empty block scalar")
    trailing = len(content) - (last_content - number)
    body = content[: len(content) - trailing]
    if any(line.startswith(" ") for line in body if line) and style == ">":
        raise Unsupported("leading spaces in a folded block")
    if any(not line.strip(" \t") and line for line in body) or not body or not body[0]:
        raise Unsupported("blank or whitespace-only lines leading a block scalar")
    text = "\n".join(body) if style == "|" else _fold(body)
    if chomping == "-" or last_content == len(lines) - 1:  # the text's last line has no line break to keep
        value = text
    elif chomping == "+":
        value = text + "\n" + "\n" * trailing
    else:
        value = text + "\n"
    return value, last_content + 1 + trailing


def _fold(lines: list[str]) -> str:
    pieces: list[str] = []
    breaks = 0
    for line in lines:
        if not line:
            breaks += 1
            continue
        if pieces:
            pieces.append("\n" * breaks if breaks else " ")
        breaks = 0
        pieces.append(line)
    return "".join(pieces)


def _end_mark(reader: _ItemReader, line: int, index: int) -> Mark:
    """An end position on a known line (end positions are compared by index only)."""
    return Mark((line, index - reader.offsets[line], index))


def _scalar(raw: str) -> tuple[str | None, int]:
    """A one-line scalar value and the length of its text (a trailing comment left out)."""
    if raw[0] in "'\"":
        text, length = _quoted(raw)
        rest = raw[length:]
        if rest.strip(" \t") and (not rest.lstrip(" ").startswith("#") or not rest.startswith(" ")):
            raise Unsupported("text after a quoted scalar")
        return text, length
    if raw[0] in _PLAIN_BAD_START and not (raw[0] == "-" and len(raw) > 1 and raw[1] not in " "):
        raise Unsupported("a plain scalar starting with an indicator")
    value = raw.split(" #", 1)[0].rstrip(" ")
    if ": " in value or value.endswith(":") or "\t" in value:
        raise Unsupported("a colon in a plain scalar")
    if value in _NULLS:
        return None, len(value)
    return value, len(value)


def _quoted(raw: str) -> tuple[str, int]:
    quote = raw[0]
    if quote == '"':
        close = raw.find('"', 1)
        if close < 0 or "\\" in raw[1:close]:
            raise Unsupported("an escape or a multi-line double-quoted scalar")
        return raw[1:close], close + 1
    position = 1
    pieces = []
    while True:
        close = raw.find("'", position)
        if close < 0:
            raise Unsupported("a multi-line single-quoted scalar")
        pieces.append(raw[position:close])
        if raw[close + 1 : close + 2] == "'":
            pieces.append("'")
            position = close + 2
            continue
        return "".join(pieces), close + 1


def shift(value: Any, lines: int, index: int) -> None:
    """Move every position in a tree read from a piece of a file to where the piece stands in it."""
    if isinstance(value, YamlMap):
        value.start = _moved(value.start, lines, index)
        value.end = _moved(value.end, lines, index)
        value.key_marks = {key: _moved(mark, lines, index) for key, mark in value.key_marks.items()}
        value.value_marks = {key: _moved(mark, lines, index) for key, mark in value.value_marks.items()}
        value.value_ends = {key: end + index for key, end in value.value_ends.items()}
        for item in value.values():
            shift(item, lines, index)
    elif isinstance(value, YamlList):
        value.start = _moved(value.start, lines, index)
        value.end = _moved(value.end, lines, index)
        value.item_marks = [_moved(mark, lines, index) for mark in value.item_marks]
        for item in value:
            shift(item, lines, index)


def _moved(mark: Mark, lines: int, index: int) -> Mark:
    return Mark((mark.line + lines, mark.column, mark.index + index))


_NOWHERE = Mark((0, 0, 0))
_NO_MARKS: dict[str, Any] = {}


def read_values(lines: list[str], start: int, stop: int, column: int) -> YamlMap:
    """The values of the list item on lines [start, stop), as the strict reader reads them, without positions.

    For building the index, where positions are not needed: the mapping's marks are
    empty (its problems are located at line 1). Covers fewer shapes than read_item
    (no lists of mappings, no quoted or unusual flow items) and raises Unsupported for the rest.
    """
    key_column = column + 2
    first = lines[start]
    if first[column + 1 : key_column] != " " or first[key_column : key_column + 1] in ("", " "):
        raise Unsupported("an item not written '- key: value'")
    prefix = " " * key_column
    fields = YamlMap()
    fields.key_marks = fields.value_marks = _NO_MARKS
    fields.value_ends = _NO_MARKS
    fields.start = fields.end = _NOWHERE
    fields.flow = False
    number = start
    line = first
    while True:
        match = _KEY_LINE.match(line, key_column)
        if match is None or "\t" in line:
            raise Unsupported("not a simple key line")
        key, raw = match[1], match[3]
        if key in fields or key in _NULLS:
            raise Unsupported("duplicate or odd key")
        number += 1
        if raw is None or not raw.strip(" \t") or raw.lstrip(" \t").startswith("#"):
            value, number = _nested_values(lines, number, stop, key_column)
        elif raw[0] in "|>":
            value, number = _block_scalar(lines, number - 1, stop, key_column, raw)
        elif raw[0] == "[":
            value = _flow_values(raw)
        else:
            value = _scalar(raw)[0]
        fields[key] = value
        while number < stop:
            line = lines[number]
            if line.startswith(prefix) and line[key_column : key_column + 1] not in (" ", "#", ""):
                break
            stripped = line.strip(" ")
            if stripped and not stripped.startswith("#"):
                raise Unsupported("unexpected indentation")
            number += 1
        else:
            return fields


def _nested_values(lines: list[str], number: int, stop: int, key_column: int) -> tuple[Any, int]:
    """An empty value, or a block list of plain or quoted scalars, under a key line."""
    following = number
    while following < stop and (not lines[following].strip(" \t") or lines[following].lstrip(" \t").startswith("#")):
        following += 1
    if following >= stop:
        return None, number
    line = lines[following]
    stripped = line.lstrip(" ")
    indent = len(line) - len(stripped)
    if indent > key_column or (indent == key_column and stripped[:2] in ("- ", "-")):
        if not stripped.startswith("- "):
            raise Unsupported("a nested value")
    else:
        return None, number
    items = []
    number = following
    while number < stop:
        line = lines[number]
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            number += 1
            continue
        if len(line) - len(stripped) != indent or not stripped.startswith("- "):
            if len(line) - len(stripped) > indent:
                raise Unsupported("a continuation inside a list item")
            break
        body = stripped[2:].lstrip(" ")
        if not body or body[0] in "[{|>" or (_KEY_LINE.match(body) and not body.startswith(("'", '"'))):
            raise Unsupported("a nested collection in a list")
        items.append(_scalar(body)[0])
        number += 1
    return items, number


def _flow_values(raw: str) -> list[str]:
    body = raw.partition(" #")[0].rstrip(" ")
    if not body.endswith("]") or "]" in body[:-1] or "[" in body[1:]:
        raise Unsupported("a flow list over several lines or nested")
    inner = body[1:-1]
    if not inner:
        return []
    parts = inner.split(", ")
    if not _SIMPLE_FLOW.fullmatch(inner) or not _NULLS.isdisjoint(parts):
        raise Unsupported("a flow item that needs the strict reader")
    return parts


class NeedsWholeFile(Exception):
    """An event that only the strict reader of the whole file can place or explain."""


class EventBlock:
    """A large log's `events:` block list, split into one chunk of lines per event.

    `head` is the rest of the document as the strict reader reads it (with `events`
    empty); `problems` are its problems. Items are read one at a time, with positions
    (`item`) or without (`values`), so a caller may handle each and let it go.
    """

    def __init__(self, text: str, path: str, lines: list[str], first: int, end: int, column: int) -> None:
        self.text = text
        self.path = path
        self.lines = lines
        self.column = column
        self.first = first  # the line after the `events:` key
        self.end = end
        offsets = [0, *itertools.accumulate(len(line) + 1 for line in lines)]
        self.offsets = offsets
        self.starts = item_starts(lines, first, end, column)
        self.head: Any = None
        self.problems: list[Any] = []
        block_start, block_end = offsets[first], min(offsets[end], len(text))
        blanked = "".join(" " * len(line) + "\n" for line in lines[first:end])[: block_end - block_start]
        self.head, self.problems = read_strict(text[:block_start] + blanked + text[block_end:], path)

    def __len__(self) -> int:
        return len(self.starts)

    def _stop(self, position: int) -> int:
        return self.starts[position + 1] if position + 1 < len(self.starts) else self.end

    def item(self, position: int) -> YamlMap:
        """Event `position` with the positions the strict reader gives (NeedsWholeFile when only it can say)."""
        start, stop = self.starts[position], self._stop(position)
        try:
            return read_item(self.lines, self.offsets, start, stop, self.column)
        except Unsupported:
            pass
        end = min(self.offsets[stop], len(self.text))
        if stop < len(self.lines):  # the strict reader may end an item at the next item's indentation
            following = self.lines[stop]
            end += len(following) - len(following.lstrip(" "))
        piece = self.text[self.offsets[start] : end]
        try:
            parsed, piece_problems = read_strict(piece, self.path)
        except LogError:
            raise NeedsWholeFile from None  # so that the error names its place in the whole file
        if piece_problems or not isinstance(parsed, YamlList) or len(parsed) != 1 or not isinstance(parsed[0], YamlMap):
            raise NeedsWholeFile  # problems are reported against the whole file
        item = parsed[0]
        shift(item, start, self.offsets[start])
        return item

    def values(self, position: int) -> YamlMap:
        """Event `position`'s values; positions only where the quick reader could not read it."""
        try:
            return read_values(self.lines, self.starts[position], self._stop(position), self.column)
        except Unsupported:
            return self.item(position)

    def assemble(self, items: list[YamlMap]) -> Any:
        """The whole document: `head` with `items` as its events list."""
        data = self.head
        column = self.column
        events = YamlList(items)
        events.flow = False
        events.item_marks = [item.start for item in items]
        events.start = Mark((self.starts[0], column, self.offsets[self.starts[0]] + column))
        events.end = items[-1].end
        data["events"] = events
        data.value_marks["events"] = events.start
        data.value_ends["events"] = events.end.index
        if list(data)[-1] == "events":
            data.end = events.end
        return data


def open_block(text: str, path: str) -> EventBlock | None:
    """The log's events block, or None when the log is not a mapping with a non-empty `events:` block list."""
    if "\r" in text or _YAML_SPECIAL.search(text):
        return None
    lines = text.split("\n")
    found = split_events(lines)
    if found is None:
        return None
    first, end, column = found
    # After a final newline, split() yields one more, empty, "line" that is not in the file.
    end = min(end, len(lines) - 1 if text.endswith("\n") else len(lines))
    try:
        block = EventBlock(text, path, lines, first, end, column)
    except LogError:
        return None  # e.g. an `events:` line inside a quoted value: the strict reader says what the file holds
    data = block.head
    if not block.starts or not isinstance(data, YamlMap) or "events" not in data or data["events"] is not None:
        return None
    return block


# Characters YAML does not take as they are (controls, surrogates, U+FFFE/U+FFFF) or takes as line
# breaks (NEL, U+2028, U+2029): in a log holding any, the strict reader reads it and says what is wrong.
_YAML_SPECIAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u2028\u2029]")

# Below this size the strict reader alone is fast enough.
FAST_THRESHOLD = 256 * 1024


def read_fast(text: str, path: str) -> tuple[Any, list[Any]]:
    """Read a log like yamltext.read_strict, event by event where it can; the same result, faster."""
    if len(text) < FAST_THRESHOLD:
        return read_strict(text, path)
    block = open_block(text, path)
    if block is None:
        return read_strict(text, path)
    try:
        items = [block.item(position) for position in range(len(block))]
    except NeedsWholeFile:
        return read_strict(text, path)
    return block.assemble(items), block.problems
