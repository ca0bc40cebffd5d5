"""edit and rm: byte-exact on a log full of comments; the editor path with a fake $EDITOR."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

COMMENTED = textwrap.dedent(
    """\
    # A log full of comments
    actors:
      - name: Kim Yo Jong   # the sister
        aliases: [Kim Yo-jong]
      - name: Kishida Fumio
        aliases: [Kishida]
    events:
      # --- February ---
      - id: a
        date: 2024-02-15    # day from KCNA
        title: First statement
        # inside a, before actors
        actors: [Kim Yo Jong]
        tags: [summit]

      # --- March ---
      - id: b
        date: 2024-03-25
        title: Second statement
        summary: >-
          Two lines
          of summary.
        actors: [Kim Yo Jong, Kishida]
        related: [a]   # follows a
        # trailing note on b

      - id: c
        date: 2024-04
        title: Third
        related: [a, b]
    # end of log
    """
)


@pytest.fixture
def commented(tmp_path, monkeypatch):
    path = tmp_path / "events.yaml"
    path.write_text(COMMENTED, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return path


def _replace_line(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_set_changes_only_that_fields_line(invoke, commented):
    result = invoke("edit", "b", "--set", "title=Second statement, revised", "--status", "Confirmed")
    assert result.exit_code == 0, result.output
    assert result.stdout == "b\n"
    expected = _replace_line(COMMENTED, "    title: Second statement\n", "    title: Second statement, revised\n")
    expected = _replace_line(
        expected, "    # trailing note on b\n", "    status: confirmed\n    # trailing note on b\n"
    )
    assert commented.read_text() == expected


def test_set_a_list_and_unset_and_tag_and_actor_changes(invoke, commented):
    result = invoke(
        "edit", "a", "--set", "tags=[summit, abduction-issue]", "--add-actor", "kishida", "--unset", "tags",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    expected = _replace_line(
        COMMENTED, "    actors: [Kim Yo Jong]\n    tags: [summit]\n", "    actors: [Kim Yo Jong, Kishida Fumio]\n"
    )
    assert commented.read_text() == expected
    assert invoke("edit", "a", "--add-tag", "Summit", "--remove-actor", "Kim Yo-jong").exit_code == 0
    expected = _replace_line(
        expected, "    actors: [Kim Yo Jong, Kishida Fumio]\n", "    actors: [Kishida Fumio]\n    tags: [Summit]\n"
    )
    assert commented.read_text() == expected


def test_date_accepts_natural_input_and_keeps_the_inline_comment_elsewhere(invoke, commented):
    assert invoke("edit", "c", "--date", "2 April 2024").exit_code == 0
    assert commented.read_text() == _replace_line(COMMENTED, "    date: 2024-04\n", "    date: 2024-04-02\n")


def test_a_multi_line_value_is_replaced_whole(invoke, commented):
    assert invoke("edit", "b", "--set", "summary=One line now").exit_code == 0
    expected = _replace_line(
        COMMENTED, "    summary: >-\n      Two lines\n      of summary.\n", "    summary: One line now\n"
    )
    assert commented.read_text() == expected


def test_renaming_an_id_relinks_related_and_says_so(invoke, commented):
    result = invoke("edit", "a", "--set", "id=2024-02-15-first")
    assert result.exit_code == 0, result.output
    assert result.stderr == "tracker: renamed a to 2024-02-15-first; updated related in b, c\n"
    expected = _replace_line(COMMENTED, "  - id: a\n", "  - id: 2024-02-15-first\n")
    expected = _replace_line(
        expected, "    related: [a]   # follows a\n", "    related: [2024-02-15-first]   # follows a\n"
    )
    expected = _replace_line(expected, "    related: [a, b]\n", "    related: [2024-02-15-first, b]\n")
    assert commented.read_text() == expected
    assert invoke("check").exit_code == 0


def test_dry_run_prints_a_unified_diff_and_writes_nothing(invoke, commented):
    result = invoke("edit", "c", "--title", "Third, renamed", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout == (
        f"--- {commented}\n+++ {commented}\n"
        "@@ -26,6 +26,6 @@\n"
        " \n"
        "   - id: c\n"
        "     date: 2024-04\n"
        "-    title: Third\n"
        "+    title: Third, renamed\n"
        "     related: [a, b]\n"
        " # end of log\n"
    )
    assert commented.read_text() == COMMENTED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x"], "tracker: no event with id 'x'"),
        (["a", "--unset", "title"], "tracker: --unset title: every event needs a title"),
        (["a", "--set", "date=2024-02-30"], "tracker: --set date: impossible date '2024-02-30'"),
        (["a", "--set", "related=[nope]"], "tracker: related: no event with id 'nope'"),
        (["a", "--set", "id=b"], "tracker: id: an event with id 'b' already exists"),
        (["a", "--set", "title"], "tracker: --set: expected FIELD=VALUE, got 'title'"),
        (["c", "--end", "2024-04-01"], "tracker: end: 2024-04-01 does not come after date 2024-04"),
        (["a", "--remove-actor", "Nobody"], "tracker: --remove-actor: the event does not name Nobody"),
    ],
)
def test_bad_edits_change_nothing(invoke, commented, args, message):
    result = invoke("edit", *args)
    assert result.exit_code != 0
    assert result.stderr.startswith(message), result.stderr
    assert commented.read_text() == COMMENTED


# --- the editor path ------------------------------------------------------------


def _editor(tmp_path: Path, script: str) -> str:
    path = tmp_path / "fake-editor"
    path.write_text("#!/bin/sh\n" + textwrap.dedent(script))
    path.chmod(0o755)
    return str(path)


def test_editor_edit_replaces_only_that_event(invoke, commented, tmp_path, monkeypatch):
    monkeypatch.setenv("EDITOR", _editor(tmp_path, 'sed -i "s/title: Third/title: Third, edited/" "$1"\n'))
    monkeypatch.delenv("VISUAL", raising=False)
    result = invoke("edit", "c")
    assert result.exit_code == 0, result.output
    assert commented.read_text() == _replace_line(COMMENTED, "    title: Third\n", "    title: Third, edited\n")


def test_editor_shows_the_event_with_its_comments(invoke, commented, tmp_path, monkeypatch):
    seen = tmp_path / "seen.yaml"
    monkeypatch.setenv("VISUAL", _editor(tmp_path, f'cp "$1" {seen}\n'))
    assert invoke("edit", "b").exit_code == 0
    assert seen.read_text() == (
        "- id: b\n  date: 2024-03-25\n  title: Second statement\n  summary: >-\n    Two lines\n    of summary.\n"
        "  actors: [Kim Yo Jong, Kishida]\n  related: [a]   # follows a\n  # trailing note on b\n"
    )
    assert commented.read_text() == COMMENTED


def test_editor_reopens_with_the_error_until_fixed(invoke, commented, tmp_path, monkeypatch):
    script = """\
    if grep -q "^# tracker: error" "$1"; then
      grep "^# tracker: error" "$1" > "$(dirname "$0")/error.txt"
      sed -i "s/date: 2024-02-30/date: 2024-04-30/" "$1"
    else
      sed -i "s/date: 2024-04$/date: 2024-02-30/" "$1"
    fi
    """
    monkeypatch.setenv("VISUAL", _editor(tmp_path, script))
    result = invoke("edit", "c")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "error.txt").read_text().startswith("# tracker: error: (edited event):2:9: impossible date")
    assert commented.read_text() == _replace_line(COMMENTED, "    date: 2024-04\n", "    date: 2024-04-30\n")


def test_editor_abandoned_after_an_error_changes_nothing(invoke, commented, tmp_path, monkeypatch):
    script = """\
    if grep -q "^# tracker: error" "$1"; then exit 0; fi
    sed -i "s/title: Third/title: ''/" "$1"
    """
    monkeypatch.setenv("VISUAL", _editor(tmp_path, script))
    result = invoke("edit", "c")
    assert result.exit_code == 1
    assert result.stderr == "tracker: edit abandoned; the log is unchanged\n"
    assert commented.read_text() == COMMENTED


def test_editor_quit_without_saving_changes_nothing(invoke, commented, tmp_path, monkeypatch):
    monkeypatch.setenv("VISUAL", _editor(tmp_path, "exit 0\n"))
    result = invoke("edit", "a")
    assert result.exit_code == 0
    assert result.stderr == "tracker: no changes to a\n"
    assert commented.read_text() == COMMENTED


def test_editor_failure_changes_nothing(invoke, commented, tmp_path, monkeypatch):
    monkeypatch.setenv("VISUAL", _editor(tmp_path, 'echo "- id: a" > "$1"; exit 3\n'))
    result = invoke("edit", "a")
    assert result.exit_code == 1
    assert "exited with status 3" in result.stderr
    assert commented.read_text() == COMMENTED


# --- rm ------------------------------------------------------------------------


def test_rm_refuses_without_a_terminal_or_yes(invoke, commented):
    result = invoke("rm", "c")
    assert result.exit_code == 2
    assert result.stderr == "tracker: refusing to remove events without confirmation; pass --yes\n"
    assert commented.read_text() == COMMENTED


def test_rm_removes_exactly_the_events_lines(invoke, commented):
    result = invoke("rm", "c", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout == "removed c\n"
    assert commented.read_text() == _replace_line(
        COMMENTED, "\n  - id: c\n    date: 2024-04\n    title: Third\n    related: [a, b]\n", ""
    )


def test_rm_refuses_when_others_relate_unless_force(invoke, commented):
    refused = invoke("rm", "b", "--yes")
    assert refused.exit_code == 1
    assert (
        refused.stderr
        == "tracker: other events relate to it: c relates to b (use --force to remove those references too)\n"
    )
    assert commented.read_text() == COMMENTED
    forced = invoke("rm", "a", "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    assert forced.stderr == "tracker: removed references from b, c\n"
    text = commented.read_text()
    assert "  - id: a\n" not in text and "# --- February ---\n" in text
    assert "    actors: [Kim Yo Jong, Kishida]\n    # trailing note on b\n" in text
    assert "    title: Third\n    related: [b]\n" in text
    assert invoke("check").exit_code == 0


def test_rm_asks_on_a_terminal(commented):
    import subprocess
    import sys

    from tests.test_cli import TTY_RUNNER

    def run(answer: str) -> str:
        runner = TTY_RUNNER.replace("chunks = []", f"os.write(fd, {answer!r}.encode())\nchunks = []")
        return subprocess.run(
            [sys.executable, "-c", runner, "rm", "c", "-f", str(commented)], capture_output=True, text=True,
            env={**os.environ, "TERM": "xterm"},
        ).stdout  # fmt: skip

    declined = run("n\n")
    assert "Remove 1 event(s)?" in declined and "c  Third" in declined
    assert commented.read_text() == COMMENTED
    run("y\n")
    assert "  - id: c\n" not in commented.read_text()


def test_flow_style_events_can_be_edited_renamed_and_removed(invoke, tmp_path):
    path = tmp_path / "flow.yaml"
    path.write_text("- {id: a, date: 2024, title: A}\n- {id: b, date: 2025, title: B, related: [a]}\n")
    assert invoke("edit", "b", "--status", "confirmed", "-f", str(path)).exit_code == 0
    assert invoke("edit", "a", "--set", "id=aa", "-f", str(path)).exit_code == 0
    assert path.read_text() == (
        "- id: aa\n  date: 2024\n  title: A\n- id: b\n  date: 2025\n  title: B\n  related: [aa]\n  status: confirmed\n"
    )
    assert invoke("rm", "aa", "--yes", "--force", "-f", str(path)).exit_code == 0
    assert path.read_text() == "- id: b\n  date: 2025\n  title: B\n  status: confirmed\n"


def test_block_lists_stay_block_lists(invoke, tmp_path):
    path = tmp_path / "block.yaml"
    path.write_text(
        "- id: a\n  date: 2024\n  title: A\n  tags:\n    - one\n    - two\n  status: reported  # check later\n"
    )
    assert invoke("edit", "a", "--add-tag", "three", "--status", "confirmed", "-f", str(path)).exit_code == 0
    assert path.read_text() == (
        "- id: a\n  date: 2024\n  title: A\n  tags:\n    - one\n    - two\n    - three\n  status: confirmed  # check later\n"
    )


def test_edit_and_rm_can_fix_a_log_that_does_not_check(invoke, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("- id: a\n  date: 2024-02-30\n  title: A\n- id: b\n  date: 2024\n  title: B\n")
    assert invoke("add", "C", "--date", "2024", "-f", str(path)).exit_code == 1
    fixed = invoke("edit", "a", "--date", "2024-02-28", "-f", str(path))
    assert fixed.exit_code == 0, fixed.output
    assert path.read_text() == "- id: a\n  date: 2024-02-28\n  title: A\n- id: b\n  date: 2024\n  title: B\n"
    path.write_text("- id: a\n  date: 2024-02-30\n  title: A\n- id: b\n  date: 2024\n  title: B\n")
    assert invoke("rm", "a", "--yes", "-f", str(path)).exit_code == 0
    assert path.read_text() == "- id: b\n  date: 2024\n  title: B\n"
    still_broken = "- id: a\n  date: 2024-02-30\n  title: A\n- id: b\n  date: 2024\n  title: B\n"
    path.write_text(still_broken)
    refused = invoke("edit", "b", "--title", "B2", "-f", str(path))
    assert refused.exit_code == 1
    assert "impossible date" in refused.stderr
    assert path.read_text() == still_broken


@pytest.mark.parametrize(
    ("assignment", "message"),
    [("tags=[a, [b]]", "tags: must be a list of text"), ("title=[a]", "title: must be text, not a list or mapping")],
)
def test_nested_values_are_refused(invoke, commented, assignment, message):
    result = invoke("edit", "a", "--set", assignment)
    assert result.exit_code == 2
    assert result.stderr == f"tracker: {message}\n"
    assert commented.read_text() == COMMENTED


def test_an_editor_that_writes_bytes_that_are_not_utf8_changes_nothing(invoke, commented, tmp_path, monkeypatch):
    monkeypatch.setenv("VISUAL", _editor(tmp_path, "printf '\\377\\376' > \"$1\"\n"))
    result = invoke("edit", "a")
    assert result.exit_code == 1
    assert result.stderr == "tracker: the edited file is not UTF-8; the log is unchanged\n"
    assert commented.read_text() == COMMENTED


def test_new_fields_go_where_they_usually_stand(invoke, commented):
    assert invoke("edit", "c", "--end", "2024-06", "--set", "summary=Two\nlines").exit_code == 0
    assert commented.read_text() == _replace_line(
        COMMENTED,
        "    date: 2024-04\n    title: Third\n",
        "    date: 2024-04\n    end: 2024-06\n    title: Third\n    summary: |-\n      Two\n      lines\n",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--add-tag", ""], "tracker: --add-tag: must not be empty"),
        (["--set", "title=two\nlines"], "tracker: title: must be one line"),
        (["--set", "summary=&anchor text"], "tracker: --set summary: YAML anchor 'anchor' is not allowed"),
    ],
)
def test_more_refused_edits(invoke, commented, args, message):
    result = invoke("edit", "a", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message), result.stderr
    assert commented.read_text() == COMMENTED


def test_edit_warns_about_an_actor_missing_from_the_registry(invoke, commented):
    result = invoke("edit", "a", "--add-actor", "Somebody New")
    assert result.exit_code == 0
    assert result.stderr == "tracker: warning: actor 'Somebody New' is not in the actors registry; added as written\n"


def test_an_event_relating_to_itself_does_not_check(invoke, commented):
    result = invoke("edit", "c", "--set", "related=[a, c]")
    assert result.exit_code == 1
    assert "an event cannot relate to itself" in result.stderr


def test_an_editor_that_never_fixes_its_text_is_given_up_on(invoke, commented, tmp_path, monkeypatch):
    counter = tmp_path / "count"
    script = (
        f'echo x >> {counter}\nsed -i "s/^  date: .*/  date: 2024-02-30/" "$1"\n'
        f'echo "  # attempt $(wc -l < {counter})" >> "$1"\n'
    )
    monkeypatch.setenv("VISUAL", _editor(tmp_path, script))
    result = invoke("edit", "c")
    assert result.exit_code == 1
    assert result.stderr == "tracker: gave up after 20 invalid edits; the log is unchanged\n"
    assert len(counter.read_text().splitlines()) == 20
    assert commented.read_text() == COMMENTED


def test_editing_a_flow_event_keeps_the_comments_around_it(invoke, tmp_path):
    path = tmp_path / "events.yaml"
    path.write_text(
        "events:\n  - {id: a, date: 2024, title: A}  # from KCNA\n    # checked twice\n  - {id: b, date: 2024, title: B}\n",
        encoding="utf-8",
    )
    assert invoke("edit", "a", "--status", "confirmed", "-f", str(path)).exit_code == 0
    assert path.read_text(encoding="utf-8") == (
        "events:\n  - id: a\n    date: 2024\n    title: A\n    status: confirmed  # from KCNA\n"
        "    # checked twice\n  - {id: b, date: 2024, title: B}\n"
    )
