"""Every writer, with the index and without it (--no-index), writes the same bytes or refuses the same way.

Random log texts in the shapes real files have (line breaks of every kind, whitespace-only lines, block
scalars, comments, flow events, registries, many of them invalid) take random add, edit, rm and import
commands on two copies; after each step the copies must agree, a refusal must leave its copy untouched,
and the index must answer `list` and `check` as the log itself does.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import importlib
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import typer.testing
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from tracker.cli import app

LOG = "events.yaml"
NEWLINES = ["\n", "\r\n", "\r", "\x85", "\u2028", "\u2029"]  # LF, CRLF, lone CR, NEL, line and paragraph separators
WORDS = ["talks", "Summit", "visit", "no", "on", "2024", "会談", "北朝鮮", "정상회담", "김여정", "naïve"]
QUOTED_WORDS = [*WORDS, "a: b", "#7", "it's", "[x]", 'say "hi"', "- dash"]  # need quotes in YAML
ACTORS = ["Kishida", "Kishida Fumio", "岸田文雄", "김여정", "Kim Yo Jong", "Nobody Known"]
TAGS = ["summit", "abduction-issue", "会談", "missiles"]
ID_POOL = ["e0", "e1", "e2", "2024-01-15-talks", "2024-03-summit", "会談-1", "x"]
NEW_IDS = ["fresh", "e9", "2025-new", "새-사건"]
LOG_DATES = st.sampled_from(["2024-01-15", "2024", "2024-03", "'2024-05-06'", "2023-11-30", "2024-04-02T06:53"])
DATES = st.sampled_from(["2024-07-01", "2024-01-15", "2023", "2024-03", "2 April 2024", "2024-04-02T06:53"])
REGISTRIES = [
    [
        "actors:",
        "  - name: Kishida Fumio",
        "    aliases: [Kishida, 岸田文雄]",
        "  - name: 김여정",
        "    aliases: [Kim Yo Jong]",
    ],
    ["sources:", "  - id: wire", "    title: Wire report 通信"],
]
GAP_LINES = st.one_of(
    st.just(""),
    st.integers(1, 12).map(lambda width: " " * width),
    st.tuples(st.integers(0, 8), st.sampled_from(["# comment", "# 注釈", "#"])).map(
        lambda pair: " " * pair[0] + pair[1]
    ),
)
SUMMARY_LINES = ["one", "two words", "", "  indented", "trailing  ", "会談です", "a: b", "# not a comment", " "]
SUMMARIES = st.tuples(
    st.lists(st.sampled_from(SUMMARY_LINES), min_size=1, max_size=4), st.sampled_from(["", "\n", "\n\n"])
).map(lambda parts: "\n".join(parts[0]) + parts[1])
DAMAGE = [None] * 12 + ["duplicate-id", "impossible-date", "missing-related", "tab"]


class Step(NamedTuple):
    """One writer command; an import also writes its `attachment` (file name, content) and passes its path."""

    arguments: tuple[str, ...]
    attachment: tuple[str, str] | None = None


def chance(draw: st.DrawFn, one_in: int) -> bool:
    """True one time in `one_in`; False as the example shrinks."""
    return draw(st.integers(1, one_in)) == one_in


def words(draw: st.DrawFn, pool: list[str] = WORDS) -> str:
    return " ".join(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3)))


@st.composite
def scalars(draw: st.DrawFn) -> str:
    """A one-line value as people write it: plain, single- or double-quoted, ASCII or not."""
    style = draw(st.sampled_from(["plain", "single", "double"]))
    if style == "plain":
        return words(draw)
    text = words(draw, QUOTED_WORDS)
    if style == "single":
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text, ensure_ascii=draw(st.booleans()))


@st.composite
def block_scalar(draw: st.DrawFn, pad: str, key: str) -> list[str]:
    """`key: |` (any indicator) and its lines, with blank and whitespace-only lines of any width among them."""
    content = pad + "  "
    lines = [f"{pad}{key}: {draw(st.sampled_from(['|', '|-', '|+', '>', '>-', '>+']))}", content + words(draw)]
    for kind in draw(st.lists(st.integers(0, 4), max_size=3)):
        if kind == 0:
            lines.append("")
        elif kind == 1:
            lines.append(" " * draw(st.integers(1, len(content) + 6)))
        elif kind == 2:
            lines.append(content + "  " + words(draw))  # more indented
        else:
            lines.append(content + words(draw))
    lines += [" " * width for width in draw(st.lists(st.integers(0, len(content) + 8), max_size=2))]
    return lines


@st.composite
def event_lines(draw: st.DrawFn, event_id: str, dash: int, others: list[str], damage: str | None) -> list[str]:
    """One event's lines, in block style (fields in any of a few layouts) or in flow style."""
    date = "2024-02-30" if damage == "impossible-date" else draw(LOG_DATES)
    related = draw(st.lists(st.sampled_from(others), max_size=2, unique=True)) if others and draw(st.booleans()) else []
    if damage == "missing-related":
        related.append("missing-event")
    if chance(draw, 5):
        parts = [f"id: {event_id}", f"date: {date}", f"title: {words(draw)}"]
        if related:
            parts.append(f"related: [{', '.join(related)}]")
        if draw(st.booleans()):
            parts.append(f"status: {draw(st.sampled_from(['confirmed', 'reported']))}")
        return [" " * dash + "- {" + ", ".join(parts) + "}"]
    pad = " " * (dash + 2)
    fields = [[f"{pad}date: {date}"], [f"{pad}title: {draw(scalars())}"]]
    summary: list[str] = []
    style = draw(st.sampled_from([None, "plain", "quoted", "folded-plain", "block"]))
    if style == "plain":
        summary = [f"{pad}summary: {words(draw)}"]
    elif style == "quoted":
        summary = [f"{pad}summary: {draw(scalars())}"]
    elif style == "folded-plain":
        summary = [f"{pad}summary: {words(draw)}", f"{pad}  {words(draw)}"]
    elif style == "block":
        summary = draw(block_scalar(pad, "summary"))
    if draw(st.booleans()):
        actors = draw(st.lists(st.sampled_from(ACTORS), min_size=1, max_size=2, unique=True))
        if draw(st.booleans()):
            fields.append([f"{pad}actors: [{', '.join(actors)}]"])
        else:
            fields.append([f"{pad}actors:", *(f"{pad}  - {actor}" for actor in actors)])
    if draw(st.booleans()):
        fields.append([f"{pad}tags: [{', '.join(draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True)))}]"])
    if related:
        fields.append([f"{pad}related: [{', '.join(related)}]"])
    if draw(st.booleans()):
        fields.append([f"{pad}status: {draw(st.sampled_from(['confirmed', 'disputed', 'reported']))}"])
    if chance(draw, 4):
        fields.append(
            [f"{pad}quotes:", f"{pad}  - by: {draw(st.sampled_from(ACTORS))}", f"{pad}    text: {words(draw)}"]
        )
    if summary:
        fields.insert(2 if draw(st.booleans()) else len(fields), summary)  # after the title, or last
    lines = [f"{' ' * dash}- id: {event_id}"]
    for field in fields:
        if chance(draw, 8):
            lines += draw(st.lists(GAP_LINES, min_size=1, max_size=2))
        lines += field
    if damage == "tab":
        lines[1] = "\t" + lines[1].lstrip(" ")
    return lines


@st.composite
def logs(draw: st.DrawFn) -> tuple[str, list[str]]:
    """The text of a log in the shapes real files have (many of them invalid), and its event ids."""
    bare = chance(draw, 5)  # a top-level list of events
    count = draw(st.integers(1 if bare else 0, 4))
    ids = draw(st.lists(st.sampled_from(ID_POOL), min_size=count, max_size=count, unique=True))
    damage = draw(st.sampled_from(DAMAGE)) if count else None
    if damage == "duplicate-id" and count > 1:
        ids[-1] = ids[0]
    damaged = draw(st.integers(0, count - 1)) if count else -1
    lines = ["# A generated log 年表"] if draw(st.booleans()) else []
    dash = draw(st.sampled_from([0, 2] if bare else [2, 0, 4]))
    titled = not bare and chance(draw, 4)
    if not bare:
        if titled:
            lines.append("title: Japan and North Korea")
        for registry in REGISTRIES:
            if draw(st.booleans()):
                lines += registry
        lines.append("events:" if count or draw(st.booleans()) else "events: []")
    for number, event_id in enumerate(ids):
        if number:
            lines += draw(st.lists(GAP_LINES, max_size=3))
        others = [other for other in ids if other != event_id]
        lines += draw(event_lines(event_id, dash, others, damage if number == damaged else None))
    lines += draw(st.lists(GAP_LINES, max_size=3))
    if not bare and chance(draw, 4):
        after = "updated: 2024-04" if titled else "title: 日朝関係 after the events"
        lines += draw(block_scalar("", "notes")) if draw(st.booleans()) else [after]
        lines += draw(st.lists(GAP_LINES, max_size=2))
    main = draw(st.sampled_from(NEWLINES if chance(draw, 8) else NEWLINES[:2]))
    breaks = [main] * len(lines)
    if chance(draw, 2):  # a few lines end differently, most often near the end where writers append
        for back, newline in draw(st.lists(st.tuples(st.integers(1, 8), st.sampled_from(NEWLINES)), max_size=2)):
            breaks[-min(back, len(breaks))] = newline
    if chance(draw, 4):
        breaks[-1] = ""  # no final newline
    bom = "\ufeff" if chance(draw, 6) else ""
    return bom + "".join(line + newline for line, newline in zip(lines, breaks, strict=True)), ids


def pick_id(draw: st.DrawFn, known: list[str]) -> str:
    """An id of the log, sometimes a prefix of one (unique or not), sometimes one it lacks."""
    how = draw(st.sampled_from(["whole"] * 8 + ["prefix", "prefix", "unknown"]))
    if not known or how == "unknown":
        return "no-such-event"
    chosen = draw(st.sampled_from(known))
    return chosen[: draw(st.integers(1, len(chosen)))] if how == "prefix" else chosen


def add_step(draw: st.DrawFn, known: list[str]) -> Step:
    date = draw(DATES)
    arguments = ["add", words(draw, QUOTED_WORDS), "--date", date]
    if draw(st.booleans()):
        arguments += ["--summary", draw(SUMMARIES)]
    if draw(st.booleans()):
        arguments += ["-a", draw(st.sampled_from(ACTORS))]
    if draw(st.booleans()):
        arguments += ["-t", draw(st.sampled_from(TAGS))]
    if draw(st.booleans()):
        arguments += ["--related", pick_id(draw, known)]
    if chance(draw, 4):
        new = draw(st.sampled_from(NEW_IDS + known)) if known else draw(st.sampled_from(NEW_IDS))
        arguments += ["--id", new]
        known.append(new)
    elif date[:4].isdigit():
        known.append(date[:7])  # a prefix of the id add makes
    return Step(tuple(arguments))


def edit_step(draw: st.DrawFn, known: list[str]) -> Step:
    arguments = ["edit", pick_id(draw, known)]
    kinds = ["status", "title", "set", "add-tag", "remove-tag", "date", "rename", "unset"]
    for kind in draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=2, unique=True)):
        if kind == "status":
            arguments += ["--status", draw(st.sampled_from(["confirmed", "disputed", "alleged", "bogus"]))]
        elif kind == "title":
            arguments += ["--title", words(draw, QUOTED_WORDS)]
        elif kind == "set":
            values = ["location=Tokyo", "type=visit", "tags=[summit, 会談]", "summary=one line", 'summary="a\\n b\\n"']
            arguments += ["--set", draw(st.sampled_from([*values, "summary=", "colour=red", "actors=[Kishida]"]))]
        elif kind in ("add-tag", "remove-tag"):
            arguments += [f"--{kind}", draw(st.sampled_from(TAGS))]
        elif kind == "date":
            arguments += ["--date", draw(DATES)]
        elif kind == "rename":
            new = draw(st.sampled_from(NEW_IDS))
            arguments += ["--set", f"id={new}"]
            known.append(new)
        else:
            arguments += ["--unset", draw(st.sampled_from(["summary", "summary", "tags", "status", "title"]))]
    return Step(tuple(arguments))


def rm_step(draw: st.DrawFn, known: list[str]) -> Step:
    targets = [pick_id(draw, known) for _ in range(draw(st.integers(1, 2)))]
    return Step(("rm", *targets, "--yes", *(["--force"] if draw(st.booleans()) else [])))


def import_step(draw: st.DrawFn, known: list[str]) -> Step:
    rows = []
    for _ in range(draw(st.integers(1, 2))):
        row: dict[str, Any] = {
            "title": words(draw, QUOTED_WORDS),
            "date": draw(DATES.filter(lambda d: d[:4].isdigit())),
        }
        choice = draw(st.integers(0, 3))
        if choice == 1 or (choice == 2 and not known):
            row["id"] = draw(st.sampled_from(NEW_IDS))
        elif choice == 2:
            row["id"] = draw(st.sampled_from(known))  # a clash
        if known and draw(st.booleans()):
            row["related"] = [pick_id(draw, known)]
        if "id" in row:
            known.append(row["id"])
        rows.append(row)
    kind = draw(st.sampled_from(["jsonl", "yaml", "csv"]))
    if kind == "jsonl":
        content = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    elif kind == "yaml":
        content = "".join("- " + json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["id", "date", "title", "related"], lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, "related": "; ".join(row.get("related", []))} for row in rows)
        content = buffer.getvalue()
    return Step(("import",), (f"incoming.{kind}", content))


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, list[Step]]:
    """A log text and 1-4 writer commands to run on it."""
    text, ids = draw(logs())
    known = list(dict.fromkeys(ids))
    makers = [add_step, add_step, edit_step, rm_step, import_step]  # today only add goes through the index
    return text, [draw(st.sampled_from(makers))(draw, known) for _ in range(draw(st.integers(1, 4)))]


@pytest.fixture(autouse=True)
def command_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """typer rebuilds the command from the app at every invoke: ~25 ms, ten times what a command on a small log takes."""
    build = getattr(typer.testing, "_get_command", None)
    if build is not None:
        monkeypatch.setattr(typer.testing, "_get_command", functools.cache(build))


# How tests make a small log read as a large one is: streamed, and indexed by two processes.
LARGE_LOG_SETTINGS = [("tracker.fastread", "FAST_THRESHOLD", 0), ("tracker.index", "PARALLEL_MINIMUM", 2)]


@pytest.fixture(params=["normally", "as large"])
def reading(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Logs read as small ones are, or as large ones are (the settings that still exist, should they move)."""
    if request.param == "as large":
        found = 0
        for module_name, name, value in LARGE_LOG_SETTINGS:
            with contextlib.suppress(ImportError):
                module = importlib.import_module(module_name)
                if hasattr(module, name):
                    monkeypatch.setattr(module, name, value)
                    found += 1
        if not found:
            pytest.skip("no setting makes a small log read as a large one")
    return request.param


RUNNER = CliRunner()
Env = dict[str, str | None]


def invoke(arguments: tuple[str, ...], env: Env) -> Result:
    # A crash is a bug on either path, not a refusal: let it fail the test with its traceback.
    return RUNNER.invoke(app, list(arguments), env=env, catch_exceptions=False)


def outcome(name: str, result: Result) -> str:
    return f"{name}: exit {result.exit_code}\n  stdout: {result.stdout!r}\n  stderr: {result.stderr!r}"


def left_beside(path: Path) -> list[str]:
    """What is beside the log besides the log and its lock file: a temporary file a writer left."""
    return sorted(entry.name for entry in path.parent.iterdir() if entry.name not in (path.name, f".{path.name}.lock"))


def replay(original: bytes, steps: list[Step], folder: Path) -> None:
    """Run `steps` on two copies of `original`, one through the index and one with TRACKER_NO_INDEX=1,
    asserting after each that they agree and that a refusal changed nothing."""
    indexed, whole = folder / "indexed" / LOG, folder / "whole" / LOG
    for path in (indexed, whole, folder / "incoming" / LOG):
        path.parent.mkdir(parents=True)
    indexed.write_bytes(original)
    whole.write_bytes(original)
    with_index: Env = {"XDG_CACHE_HOME": str(folder / "cache"), "TRACKER_NO_INDEX": None}
    without: Env = {"XDG_CACHE_HOME": str(folder / "unused-cache"), "TRACKER_NO_INDEX": "1"}
    invoke(("list", "-f", str(indexed)), with_index)  # a warm index, when the log can be indexed
    for number, step in enumerate(steps, 1):
        arguments = step.arguments
        if step.attachment is not None:
            attachment = folder / "incoming" / step.attachment[0]
            attachment.write_text(step.attachment[1], encoding="utf-8")
            arguments += (str(attachment),)
        before = whole.read_bytes()
        by_index = invoke((*arguments, "-f", str(indexed)), with_index)
        by_file = invoke((*arguments, "-f", str(whole)), without)
        story = f"step {number}: {step.arguments}\n{outcome('index', by_index)}\n{outcome('no-index', by_file)}"
        checks: dict[str, Result] = {}
        for name, path, result in (("index", indexed, by_index), ("no-index", whole, by_file)):
            if result.exit_code == 0:  # a writer never leaves errors behind, whatever the log held
                checks[name] = invoke(("check", "-f", str(path)), without)
                assert checks[name].exit_code == 0, f"the {name} path wrote a log that check refuses\n{story}"
        assert (by_index.exit_code == 0) == (by_file.exit_code == 0), f"one path refused, the other wrote\n{story}"
        assert indexed.read_bytes() == whole.read_bytes(), f"the two paths wrote different bytes\n{story}"
        for name, path, result in (("index", indexed, by_index), ("no-index", whole, by_file)):
            assert left_beside(path) == [], f"the {name} path left files beside the log\n{story}"
            if result.exit_code != 0:
                assert path.read_bytes() == before, f"the {name} path refused but changed the log\n{story}"
        if by_index.exit_code == 0:
            listed = answers_agree(("list", "-F", "jsonl", "-f", str(indexed)), with_index, without, story)
            answers_agree(("check", "-f", str(indexed)), with_index, without, story, truth=checks["index"])
            renamed = re.search(r"renamed (\S+) to ", by_file.stderr)
            if renamed:  # every related: that named the old id names the new one
                events = [json.loads(line) for line in listed.stdout.split("\n") if line]  # U+2028 stays in a line
                assert not [event for event in events if renamed[1] in (event.get("related") or [])], story
    assert not (folder / "unused-cache").exists(), "TRACKER_NO_INDEX=1 wrote to the cache folder"


def answers_agree(
    arguments: tuple[str, ...], with_index: Env, without: Env, story: str, truth: Result | None = None
) -> Result:
    """A reading command answers through the index exactly as from the log itself (`truth`, when already run)."""
    answer = invoke(arguments, with_index)
    truth = truth or invoke(arguments, without)
    assert (answer.exit_code, answer.stdout, answer.stderr) == (truth.exit_code, truth.stdout, truth.stderr), (
        f"after it, {arguments[0]} answers differently through the index\n{story}\n"
        f"{outcome('index', answer)}\n{outcome('no-index', truth)}"
    )
    return truth


@settings(
    max_examples=200,
    deadline=None,
    # No shrinking: on this log and command language it took from seconds to minutes. The smallest cases found
    # so far are the tests below; to shrink a new failure, add Phase.shrink here and run this test alone.
    report_multiple_bugs=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=cases())
def test_every_writer_writes_the_same_bytes_with_and_without_the_index(
    tmp_path: Path, reading: str, case: tuple[str, list[Step]]
) -> None:
    text, steps = case
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        replay(text.encode("utf-8"), steps, Path(folder))


LONE_BREAKS = {"cr": "\r", "nel": "\x85", "line-separator": "\u2028", "paragraph-separator": "\u2029"}
TWO_EVENTS = "events:\n  - id: a\n    date: 2024-01-01\n    title: A\n  - id: b\n    date: 2024-01-02\n    title: B\n"


@pytest.mark.parametrize("newline", LONE_BREAKS.values(), ids=LONE_BREAKS.keys())
def test_a_lone_line_break_before_the_last_event(tmp_path: Path, reading: str, newline: str) -> None:
    text = TWO_EVENTS.replace("title: A\n", f"title: A{newline}")
    replay(text.encode("utf-8"), [Step(("add", "After", "--date", "2024-07-01"))], tmp_path)


@pytest.mark.parametrize("newline", LONE_BREAKS.values(), ids=LONE_BREAKS.keys())
def test_a_log_whose_every_line_break_is_a_lone_one(tmp_path: Path, reading: str, newline: str) -> None:
    text = TWO_EVENTS.replace("\n", newline)
    replay(text.encode("utf-8"), [Step(("add", "After", "--date", "2024-07-01"))], tmp_path)


@pytest.mark.parametrize(
    "after", ["\n", "", "\n\n", "\n# end\n", "\ntitle: After\n"], ids=["last", "no-newline", "blank", "comment", "key"]
)
@pytest.mark.parametrize("summary", ["one\ntwo", "one\ntwo\n", "one\n\n", " indented\n"])
def test_a_line_of_spaces_deeper_than_a_new_block(tmp_path: Path, reading: str, summary: str, after: str) -> None:
    text = "events:\n  - id: e0\n    date: 2024-01-01\n    title: Event 0\n          " + after
    replay(text.encode("utf-8"), [Step(("add", "New", "--date", "2024-02-02", "--summary", summary))], tmp_path)


BLOCK_SUMMARY = Step(("add", "A", "--date", "2024-07-01", "--summary", "one\ntwo"))
THEN_ADD = Step(("add", "B", "--date", "2024-07-01"))
FOUND = {  # smallest cases the property above found, beyond the two shapes the tests above pin down
    "a block scalar added before blank lines, then another add": (
        "events:\n  - id: e0\n    date: 2024-01-15\n    title: T\n\n",
        [BLOCK_SUMMARY, THEN_ADD],
    ),
    "a block scalar with a blank line after it, then two adds": (
        "events:\n  - id: a\n    date: 2024\n    title: A\n    summary: |\n      x\n\n",
        [THEN_ADD, Step(("add", "C", "--date", "2024-07-01"))],
    ),
    "a NEL in a comment before an add with a warning": (
        "# \x85\nactors: []\nevents:\n  - id: a\n    date: 2024\n    title: A\n",
        [Step(("add", "B", "--date", "2024-07-01", "-a", "Nobody"))],
    ),
    "rm of two events of a NEL log": (
        "events:\x85- id: a\x85  date: 2024-01-01\x85  title: A\x85- id: b\x85  date: 2024-01-02\x85  title: B\x85",
        [Step(("rm", "a", "b", "--yes"))],
    ),
}


@pytest.mark.parametrize(("text", "steps"), FOUND.values(), ids=FOUND.keys())
def test_what_the_fuzzer_found(tmp_path: Path, reading: str, text: str, steps: list[Step]) -> None:
    replay(text.encode("utf-8"), steps, tmp_path)
