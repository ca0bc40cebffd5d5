"""A three-way merge of logs by event id, for git's merge driver (`tracker merge-driver %O %A %B`).

Events (and the actors and sources registries) are matched by id (name for
actors). An entry added on either side is kept (ours first, then theirs); one
changed on one side only takes that change; one removed on one side and untouched
on the other is removed. An entry changed differently on both sides is wrapped in
conflict markers, alone. Everything else in OURS stays byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracker.errors import TrackerError
from tracker.logfile import document_view, parse_text
from tracker.nodes import YamlList, YamlMap, plain
from tracker.splice import (
    Splice,
    apply_splices,
    dash_column,
    end_of_item,
    indent_lines,
    insert_events,
    item_range,
    item_text,
    remove_item,
    uses_blank_separators,
)

MARKER = 7
COLLECTIONS = (("events", "id"), ("actors", "name"), ("sources", "id"))


@dataclass
class Merged:
    """The merged text and the keys of entries in conflict (`events: 2024-03-25-x`)."""

    text: str
    conflicts: list[str] = field(default_factory=list)
    unmerged_outside: bool = False


@dataclass
class _Side:
    text: str
    data: Any
    newline: str


def merge_logs(base: str, ours: str, theirs: str, *, line_merge: str | None = None) -> Merged:
    """Merge `theirs` into `ours` against their common ancestor `base` (all three as text).

    `line_merge` is git's clean line-by-line merge of the three, when there is one: if it
    holds exactly the entries the merge by id gives, it is the answer (it keeps both
    sides' comments). Otherwise the merge by id splices OURS; `unmerged_outside` then
    says that THEIRS changed text outside the entries, which this merge did not carry over.
    Raises LogError when a side does not parse; the caller falls back to a line merge.
    """
    sides = [_side(text, name) for text, name in ((base, "BASE"), (ours, "OURS"), (theirs, "THEIRS"))]
    base_side, ours_side, theirs_side = sides
    splices: list[Splice] = []
    conflicts: list[str] = []
    expected = document_view(ours_side.data)
    for collection, key in COLLECTIONS:
        splices += _merge_collection(collection, key, base_side, ours_side, theirs_side, expected, conflicts)
    if line_merge is not None and not conflicts:
        try:
            line_log, _ = parse_text(line_merge.lstrip("\ufeff"), "merged")
        except TrackerError:
            line_log = None
        if line_log is not None and document_view(line_log.data) == expected:
            return Merged(line_merge.lstrip("\ufeff"))
    text = apply_splices(ours_side.text, splices)
    if not conflicts:
        merged_log, _ = parse_text(text, "merged")
        if document_view(merged_log.data) != expected:
            raise ValueError("the merged text does not hold the merged entries")
    outside = [_outside(side) for side in sides]
    unmerged = outside[2] != outside[0] and outside[2] != outside[1]
    return Merged(text, conflicts, unmerged)


def _outside(side: _Side) -> str:
    """The side's text without its entries: comments, title and layout around them."""
    splices = []
    for collection, _ in COLLECTIONS:
        items = _entries(side.data, collection)
        for index in range(len(items or ())):
            start, end = item_range(side.text, items, index)  # type: ignore[arg-type]
            splices.append(Splice(start, end, ""))
    return apply_splices(side.text, splices)


def _side(text: str, name: str) -> _Side:
    text = text.lstrip("\ufeff")
    log, _ = parse_text(text, name)
    first_break = text.find("\n")
    newline = "\r\n" if first_break > 0 and text[first_break - 1] == "\r" else "\n"
    return _Side(text, log.data, newline)


def _entries(data: Any, collection: str) -> YamlList | None:
    if collection == "events" and isinstance(data, YamlList):
        return data
    if isinstance(data, YamlMap) and isinstance(data.get(collection), YamlList):
        return data[collection]
    return None


def _keyed(items: YamlList | None, key: str) -> dict[str, int]:
    keyed: dict[str, int] = {}
    for index, item in enumerate(items or ()):
        if isinstance(item, YamlMap) and isinstance(item.get(key), str):
            keyed.setdefault(item[key], index)
    return keyed


def _merge_collection(
    collection: str,
    key: str,
    base: _Side,
    ours: _Side,
    theirs: _Side,
    expected: dict[str, Any],
    conflicts: list[str],
) -> list[Splice]:
    base_items, ours_items, theirs_items = (_entries(side.data, collection) for side in (base, ours, theirs))
    base_keys, ours_keys, theirs_keys = (_keyed(items, key) for items in (base_items, ours_items, theirs_items))
    splices: list[Splice] = []
    expected_items: list[Any] = list(expected.get(collection) or [])
    additions: list[int] = []

    def value(items: YamlList | None, index: int | None) -> Any:
        return None if index is None or items is None else plain(items[index])

    for name in list(base_keys) + [name for name in theirs_keys if name not in base_keys]:
        b = value(base_items, base_keys.get(name))
        o = value(ours_items, ours_keys.get(name))
        t = value(theirs_items, theirs_keys.get(name))
        if t == b or o == t:
            continue
        if name not in base_keys and o is None:
            additions.append(theirs_keys[name])
            continue
        if o == b and name in ours_keys:
            index = ours_keys[name]
            start, end = item_range(ours.text, ours_items, index)  # type: ignore[arg-type]
            if t is None:
                splices.append(remove_item(ours.text, ours_items, index))  # type: ignore[arg-type]
                expected_items = [item for item in expected_items if not _is(item, key, name)]
            else:
                splices.append(
                    Splice(start, end, _their_item(ours, ours_items, index, theirs, theirs_items, theirs_keys[name]))
                )
                expected_items = [t if _is(item, key, name) else item for item in expected_items]
            continue
        conflicts.append(f"{collection}: {name}")
        splices.append(_conflict(ours, ours_items, ours_keys.get(name), theirs, theirs_items, theirs_keys.get(name)))
    if additions:
        splices.append(_append(collection, ours, ours_items, theirs, theirs_items, additions))
        expected_items += [plain(theirs_items[index]) for index in additions]  # type: ignore[index]
    if collection in expected or expected_items:
        expected[collection] = expected_items
    return splices


def _is(item: Any, key: str, name: str) -> bool:
    return isinstance(item, dict) and item.get(key) == name


def _column(side: _Side, items: YamlList | None, default: int = 2) -> int:
    if items:
        return dash_column(side.text, items.item_marks[0].index)
    return default


def _their_text(theirs: _Side, theirs_items: Any, index: int, column: int, newline: str) -> str:
    text = indent_lines(item_text(theirs.text, theirs_items, index), column)
    text = text.replace("\r\n", "\n").replace("\n", newline)
    return text if text.endswith("\n") else text + newline


def _their_item(ours: _Side, ours_items: Any, index: int, theirs: _Side, theirs_items: Any, their_index: int) -> str:
    column = dash_column(ours.text, ours_items.item_marks[index].index)
    return _their_text(theirs, theirs_items, their_index, column, ours.newline)


def _conflict(
    ours: _Side, ours_items: Any, index: int | None, theirs: _Side, theirs_items: Any, their_index: int | None
) -> Splice:
    column = _column(ours, ours_items)
    mine = ""
    if index is not None:
        start, end = item_range(ours.text, ours_items, index)
        mine = ours.text[start:end]
    else:
        start = end = end_of_item(ours.text, ours_items[-1], column) if ours_items else len(ours.text)
    theirs_text = (
        _their_text(theirs, theirs_items, their_index, column, ours.newline) if their_index is not None else ""
    )
    newline = ours.newline
    text = f"{'<' * MARKER} ours{newline}{mine}{'=' * MARKER}{newline}{theirs_text}{'>' * MARKER} theirs{newline}"
    return Splice(start, end, text)


def _append(
    collection: str, ours: _Side, ours_items: Any, theirs: _Side, theirs_items: Any, indexes: list[int]
) -> Splice:
    if ours_items:
        column = dash_column(ours.text, ours_items.item_marks[-1].index)
        insert_at = end_of_item(ours.text, ours_items[-1], column)
        separator = ours.newline if uses_blank_separators(ours.text, ours_items) else ""
        texts = [_their_text(theirs, theirs_items, index, column, ours.newline) for index in indexes]
        lead = "" if ours.text[:insert_at].endswith("\n") else ours.newline
        return Splice(insert_at, insert_at, lead + separator + separator.join(texts))
    if collection == "events":
        return insert_events(
            ours.text, ours.newline, ours.data, [plain(theirs_items[index]) for index in indexes], "OURS"
        )
    texts = "".join(_their_text(theirs, theirs_items, index, 2, ours.newline) for index in indexes)
    if isinstance(ours.data, YamlMap) and collection in ours.data:
        mark = ours.data.key_marks[collection]
        insert_at = ours.text.find("\n", mark.index) + 1 or len(ours.text)
        return Splice(insert_at, insert_at, texts)
    lead = "" if not ours.text or ours.text.endswith("\n") else ours.newline
    return Splice(len(ours.text), len(ours.text), f"{lead}{collection}:{ours.newline}{texts}")
