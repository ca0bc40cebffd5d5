"""Strict YAML reading with positions kept, and YAML text for new entries.

Every scalar is read as the text it was written as (YAML's implicit typing never
changes a value: `no`, `2024-03-25` and `017` stay strings); empty, `~` and `null`
are None. Duplicate keys, anchors, aliases and custom tags are refused.
"""

from __future__ import annotations

from typing import Any

import yaml

from tracker.errors import Location, LogError, Problem
from tracker.nodes import DateText, Mark, YamlList, YamlMap, plain

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader

_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_ALLOWED_TAGS = frozenset(
    "tag:yaml.org,2002:" + name for name in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")
)


def _mark(mark: Any) -> Mark:
    return Mark((mark.line, mark.column, mark.index))


def compose(text: str, path: str) -> yaml.Node | None:
    """Parse `text` into a node tree, turning any YAML error into one located LogError."""
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = error.problem or error.context or "invalid YAML"
        if error.context and error.context_mark and error.problem_mark and error.context_mark != error.problem_mark:
            context = location_at(text, path, error.context_mark.index)
            message += f" ({error.context} at line {context.line}, column {context.column})"
        location = location_at(text, path, mark.index) if mark else Location(path)
        raise LogError(f"invalid YAML: {message}", location) from None
    except yaml.reader.ReaderError as error:
        code = error.character if isinstance(error.character, int) else ord(str(error.character)[:1] or "\0")
        raise LogError(
            f"control character U+{code:04X} is not allowed in YAML; write it as an escape in double quotes",
            location_at(text, path, error.position),
        ) from None
    except yaml.YAMLError as error:
        raise LogError(f"invalid YAML: {error}", Location(path)) from None


def location_at(text: str, path: str, index: int) -> Location:
    """Line and column of character `index` as an editor counts them (only newlines end a line),
    kept inside the file: errors at the end of input point at the end of the last line."""
    index = min(index, len(text.rstrip("\r\n")))
    line_start = text.rfind("\n", 0, index) + 1
    return Location(path, text.count("\n", 0, index) + 1, index - line_start + 1)


def refuse_anchors(text: str, path: str) -> None:
    """Raise on the first anchor or alias: they let one edit change many places."""
    if "&" not in text and "*" not in text:
        return
    parse = yaml.parse(text, Loader=_Loader)
    for event in parse:
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            kind = "alias" if isinstance(event, yaml.AliasEvent) else "anchor"
            mark = event.start_mark
            raise LogError(
                f"YAML {kind} '{anchor}' is not allowed; write the value out in full",
                Location(path, mark.line + 1, mark.column + 1),
            )


def construct(node: yaml.Node | None, path: str, problems: list[Problem]) -> Any:
    """Turn a composed node into YamlMap / YamlList / str / None.

    Duplicate keys are appended to `problems` (the first value is kept) so that
    `check` can report them all; custom tags raise at once.
    """
    if node is None:
        return None
    return _construct(node, path, problems)


def _construct(node: yaml.Node, path: str, problems: list[Problem]) -> Any:
    if node.tag not in _ALLOWED_TAGS:
        mark = node.start_mark
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise LogError(
            f"YAML tag '{tag}' is not allowed; tracker reads plain text, lists and mappings",
            Location(path, mark.line + 1, mark.column + 1),
        )
    if isinstance(node, yaml.ScalarNode):
        if node.style in (None, "") and node.value in _NULLS:
            return None
        return node.value
    if isinstance(node, yaml.SequenceNode):
        items = YamlList(_construct(item, path, problems) for item in node.value)
        items.start = _mark(node.start_mark)
        items.flow = bool(node.flow_style)
        items.end = _content_end(node, items[-1] if items else None, items.flow)
        items.item_marks = [_mark(item.start_mark) for item in node.value]
        return items
    mapping = YamlMap()
    mapping.start = _mark(node.start_mark)
    mapping.key_marks = {}
    mapping.value_marks = {}
    mapping.value_ends = {}
    mapping.flow = bool(node.flow_style)
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            mark = key_node.start_mark
            raise LogError(
                "a mapping key must be plain text",
                Location(path, mark.line + 1, mark.column + 1),
            )
        key = _construct(key_node, path, problems)
        key = "" if key is None else key
        if key in mapping:
            first = mapping.key_marks[key]
            mark = key_node.start_mark
            problems.append(
                Problem(
                    Location(path, mark.line + 1, mark.column + 1),
                    f"duplicate key '{key}' (first at line {first.line + 1})",
                )
            )
            continue
        value = _construct(value_node, path, problems)
        mapping[key] = value
        mapping.key_marks[key] = _mark(key_node.start_mark)
        mapping.value_marks[key] = _mark(value_node.start_mark)
        precise_end = getattr(value, "end", None)
        mapping.value_ends[key] = precise_end.index if precise_end is not None else value_node.end_mark.index
    last_value = _construct_last(node, mapping)
    mapping.end = _content_end(node, last_value, bool(node.flow_style))
    return mapping


def _construct_last(node: yaml.MappingNode, mapping: YamlMap) -> Any:
    if not node.value:
        return None
    last_key = node.value[-1][0].value
    return mapping.get(last_key, None) if last_key in mapping else None


def _content_end(node: yaml.Node, last_child: Any, flow: bool) -> Mark:
    """Where the collection's own text ends. PyYAML puts a block collection's end
    at the next token, past any comments that follow; the end of its last value is exact."""
    if flow or not node.value:
        return _mark(node.end_mark)
    last_node = node.value[-1]
    if isinstance(last_node, tuple):
        last_node = last_node[1]
    if isinstance(last_node, yaml.ScalarNode) or not hasattr(last_child, "end"):
        return _mark(last_node.end_mark)
    return last_child.end


class _EventDumper(yaml.SafeDumper):
    """Block lists indented under their key, as the bundled log is written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _represent_date(dumper: yaml.SafeDumper, value: DateText) -> yaml.Node:
    tag = dumper.resolve(yaml.ScalarNode, str(value), (True, False))
    return dumper.represent_scalar(tag, str(value))


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    if any(character in value for character in _UNICODE_BREAKS):
        style = '"'  # YAML reads these as line breaks: only escapes keep them
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_UNICODE_BREAKS = ("\x85", "\u2028", "\u2029")


def _represent_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    flow = all(isinstance(item, str) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_EventDumper.add_representer(DateText, _represent_date)
_EventDumper.add_representer(list, _represent_list)
_EventDumper.add_representer(str, _represent_text)


def dump_list_item(fields: dict[str, Any], indent: str, newline: str = "\n") -> str:
    """YAML text of one list item (`- id: ...`) indented by `indent`, ending with a newline.

    Lists of plain values are written in flow style (`actors: [A, B]`), lists of
    mappings in block style; strings are quoted only where YAML needs it.
    """
    return _dump([fields], indent, newline)


def dump_fields(fields: dict[str, Any], indent: str, newline: str = "\n") -> str:
    """YAML text of `key: value` lines, every line but the first indented by `indent`."""
    return _dump(fields, indent, newline)[len(indent) :]


def _dates_unquoted(value: Any) -> Any:
    """Events' `date` and `end` as DateText, so that they are written as people write them."""
    if isinstance(value, list):
        return [_dates_unquoted(item) for item in value]
    if isinstance(value, dict):
        return {
            key: DateText(item) if key in ("date", "end") and isinstance(item, str) else item
            for key, item in value.items()
        }
    return value


def _dump(value: Any, indent: str, newline: str) -> str:
    text = yaml.dump(
        _dates_unquoted(plain(value)),
        Dumper=_EventDumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=float("inf"),
    )
    lines = text.splitlines()
    return "".join(f"{indent}{line}{newline}" if line else newline for line in lines)


def parse_value(text: str, where: str) -> Any:
    """A value typed on the command line, read as YAML the way the log is: `[a, b]` is a list,
    `x` is the text x (never a number, date or boolean), `""` and `~` are None."""
    if "\n" in text and not text.lstrip().startswith(("[", "{", '"', "'")):
        return text  # several lines of text stay as typed (YAML would fold them into one)
    node = compose(text, where)
    refuse_anchors(text, where)
    problems: list[Problem] = []
    value = construct(node, where, problems)
    if problems:
        raise LogError(problems[0].message, Location(where))
    return plain(value)


def read_strict(text: str, path: str) -> tuple[Any, list[Problem]]:
    """The whole text read by PyYAML: values with positions, and duplicate-key problems."""
    node = compose(text, path)
    refuse_anchors(text, path)
    problems: list[Problem] = []
    return construct(node, path, problems), problems


def dump_block_item(value: Any, indent: str, newline: str = "\n") -> str:
    """One item of a block list (`- value`), a mapping item in block style, a text quoted only if needed."""
    if isinstance(value, dict):
        return dump_list_item(value, indent, newline)
    line = _dump({"_": value}, "", newline)
    return f"{indent}- {line[3:]}" if line.startswith("_: ") else dump_list_item(value, indent, newline)
