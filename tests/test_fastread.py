"""The fast reader gives exactly what the strict reader gives: values, positions and problems."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker import fastread
from tracker.nodes import YamlList, YamlMap, plain
from tracker.yamltext import read_strict

ROOT = Path(__file__).resolve().parent.parent


def difference(fast, strict, path="$"):
    """The first place where two read trees differ, or None."""
    if type(fast) is not type(strict):
        return f"{path}: {type(fast).__name__} != {type(strict).__name__}"
    if isinstance(fast, YamlMap):
        if list(fast) != list(strict) or fast.start != strict.start or fast.end.index != strict.end.index:
            return f"{path}: keys or positions differ"
        for key in fast:
            if (fast.key_marks[key], fast.value_marks[key], fast.value_ends[key]) != (
                strict.key_marks[key], strict.value_marks[key], strict.value_ends[key]
            ):  # fmt: skip
                return f"{path}.{key}: positions differ"
            found = difference(fast[key], strict[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(fast, YamlList):
        if len(fast) != len(strict) or fast.flow != strict.flow or fast.start != strict.start:
            return f"{path}: list shape differs"
        if fast.end.index != strict.end.index or list(fast.item_marks) != list(strict.item_marks):
            return f"{path}: list positions differ"
        for number, (left, right) in enumerate(zip(fast, strict, strict=True)):
            found = difference(left, right, f"{path}[{number}]")
            if found:
                return found
        return None
    return None if fast == strict else f"{path}: {fast!r} != {strict!r}"


def same_as_strict(text: str) -> None:
    fast, fast_problems = fastread.read_fast(text, "log.yaml")
    strict, strict_problems = read_strict(text, "log.yaml")
    assert difference(fast, strict) is None, difference(fast, strict)
    assert [str(problem) for problem in fast_problems] == [str(problem) for problem in strict_problems]


@pytest.fixture(autouse=True)
def always_fast(monkeypatch):
    monkeypatch.setattr(fastread, "FAST_THRESHOLD", 0)


def test_the_bundled_log_reads_the_same_and_takes_the_fast_path(monkeypatch):
    text = (ROOT / "events.yaml").read_text(encoding="utf-8")
    same_as_strict(text)
    calls = []
    monkeypatch.setattr(fastread, "read_strict", lambda *args: calls.append(args) or read_strict(*args))
    fastread.read_fast(text, "log.yaml")
    assert len(calls) == 1  # the registries only; every event was read fast


plain_text = st.text(alphabet="abcdefghij KLMNO-_.,:#'\"[]{}!&*?|>%@`~019/\\()", min_size=1, max_size=24)
names = st.sampled_from(
    ["Kim Yo Jong", "Kishida", "U.S. Congress", "null", "~", "017", "yes", "a-b", "x_y", "Moon (2017)"]
)


@st.composite
def scalar_line(draw):
    text = draw(plain_text)
    style = draw(st.sampled_from(["plain", "single", "double", "plain-comment"]))
    if style == "single":
        return "'" + text.replace("'", "''") + "'"
    if style == "double":
        return '"' + text.replace("\\", "").replace('"', "") + '"'
    if style == "plain-comment":
        return text + "  # note"
    return text


@st.composite
def event_text(draw, indent: str):
    lines = [f"{indent}- id: e{draw(st.integers(0, 999))}"]
    for key in draw(
        st.lists(
            st.sampled_from(["date", "title", "summary", "actors", "tags", "sources", "quotes", "empty", "note"]),
            unique=True,
        )
    ):
        pad = indent + "  "
        if key == "actors" or key == "tags":
            items = draw(st.lists(st.one_of(names, plain_text), max_size=4))
            lines.append(f"{pad}{key}: [{', '.join(items)}]")
        elif key == "summary":
            style = draw(st.sampled_from([">-", "|", ">", "|-", "|+"]))
            body = draw(
                st.lists(
                    st.sampled_from(["one two", "", "three", "  indented", "# not a comment"]), min_size=1, max_size=4
                )
            )
            lines.append(f"{pad}summary: {style}")
            lines += [f"{pad}  {line}" if line else "" for line in body]
        elif key == "sources":
            lines.append(f"{pad}sources:")
            for _ in range(draw(st.integers(1, 3))):
                lines.append(f"{pad}{draw(st.sampled_from(['', '  ']))}- {draw(scalar_line())}")
        elif key == "quotes":
            lines.append(f"{pad}quotes:")
            for _ in range(draw(st.integers(1, 2))):
                lines.append(f"{pad}  - by: {draw(names)}")
                lines.append(f"{pad}    text: {draw(scalar_line())}")
        elif key == "empty":
            lines.append(f"{pad}related:")
        elif key == "note":
            lines.append(f"{pad}# a comment inside")
        else:
            lines.append(f"{pad}{key}: {draw(scalar_line())}")
        if draw(st.booleans()):
            lines.append("")
    return "\n".join(lines)


@st.composite
def log_text(draw):
    indent = draw(st.sampled_from(["", "  ", "    "]))
    events = draw(st.lists(event_text(indent), min_size=1, max_size=5))
    head = "# generated\ntitle: T\nactors:\n  - name: Kim Yo Jong\n"
    tail = draw(st.sampled_from(["", "# end\n", "sources:\n  - id: s\n"]))
    text = head + "events:\n" + "\n".join(events) + "\n" + tail
    return text.rstrip("\n") if draw(st.booleans()) else text  # a file saved without its final newline


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_text())
def test_generated_logs_read_the_same_both_ways(text):
    try:
        strict = read_strict(text, "log.yaml")
    except Exception as error:  # the strict reader refuses it: the fast one must refuse it the same way
        with pytest.raises(type(error)) as raised:
            fastread.read_fast(text, "log.yaml")
        assert str(raised.value) == str(error)
        return
    assert strict is not None
    same_as_strict(text)


@pytest.mark.parametrize(
    "text",
    [
        "events:\n  - id: a\n    title: x\n    title: y\n",
        "events:\n  - id: a\n    tags: [a, null, ~]\n",
        "events:\n  - id: a\n    summary: |\n      keep\n\n\n  - id: b\n",
        "events:\n  - id: a\n    t: 'it''s'\n    u: \"q\"  # c\n",
        "events:\n  -\n    id: a\n  - id: b\n",
        "events:\n- id: a\n  date: 2024\n- id: b\n",
        # an item that ends in an empty explicit key: the strict reader ends it at the next item's indentation
        "events:\n  - id: a\n    sources:\n    - ?\n  - id: b\n",
        "events:\n  - id: a\n    sources:\n    - ?\n\n  # between\n  - id: b\n",
        "events:\n  - id: a\n    ? odd\n  - id: b\n",
        # YAML's white space is the space and the tab, not every Unicode space
        "events:\n  - id: a\n    title: \u3000#MeToo rally\n    tags: [\u00a0, x]\n    type: \u3000\n  - id: b\n",
        "events:\n  - id: a\n    title: x\u3000\n    summary: \u2003y\u2003 # c\n  - id: b\n",
        # a quoted value whose continuation line reads `events:`
        'note: "see the\nevents:\n  - below"\nevents:\n  - id: a\n    title: x\n  - id: b\n',
        # lines of spaces inside block scalars keep what lies beyond the indentation
        "events:\n  - id: a\n    summary: |\n      text:\n          first\n          \n          second\n  - id: b\n",
        "events:\n  - id: a\n    summary: >\n      one\n         \n      two\n  - id: b\n",
        "events:\n  - id: a\n    summary: |\n      one\n      \n    \n      two\n  - id: b\n",
        # a block scalar that ends the file without a final newline
        *(
            f"events:\n  - id: a\n  - id: b\n    summary: {style}\n      one\n      two"
            for style in ["|", "|-", "|+", ">", ">-", ">+"]
        ),
    ],
)
def test_edge_cases_read_the_same(text):
    same_as_strict(text)


def values_same_as_strict(text: str) -> None:
    """The quick, position-free reading of each event holds the strict reader's values."""
    block = fastread.open_block(text, "log.yaml")
    strict, _ = read_strict(text, "log.yaml")
    assert block is not None
    assert [plain(block.values(position)) for position in range(len(block))] == plain(strict["events"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_text())
def test_generated_events_give_the_same_values_without_positions(text):
    try:
        read_strict(text, "log.yaml")
    except Exception:
        return
    with contextlib.suppress(fastread.NeedsWholeFile):  # callers read the whole file then
        values_same_as_strict(text)


def test_the_bundled_log_gives_the_same_values_without_positions():
    values_same_as_strict((ROOT / "events.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "odd",
    ["\x1b[2J", "\x85", "\u2028", "\u2029", "\x7f", "\x00", "\ufffe"],
    ids=["escape", "NEL", "line separator", "paragraph separator", "DEL", "NUL", "U+FFFE"],
)
def test_characters_yaml_refuses_or_breaks_lines_on_read_as_the_strict_reader_reads_them(odd):
    text = f"events:\n  - id: a\n    title: Breaking{odd} news\n  - id: b\n    title: fine\n"

    def outcome(read):
        try:
            return ("read", plain(read(text, "log.yaml")[0]))
        except Exception as error:
            return ("error", str(error))

    fast, strict = outcome(fastread.read_fast), outcome(read_strict)
    assert fast == strict
    assert fastread.open_block(text, "log.yaml") is None  # the strict reader takes such a log whole
