"""The merge driver inside real git repositories, and the merge function on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tracker.merge import merge_logs

from .conftest import SAMPLE_LOG

BASE = textwrap.dedent(
    """\
    # shared log
    actors:
      - name: Kim Yo Jong
      - name: Kishida Fumio
    events:
      - id: a
        date: 2024-01
        title: First
      # about b
      - id: b
        date: 2024-02
        title: Second
      - id: c
        date: 2024-03
        title: Third
    """
)


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=check)


def _tracker(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tracker", *args], cwd=repo, capture_output=True, text=True)


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "analyst@example.org")
    _git(repo, "config", "user.name", "Analyst")
    (repo / "events.yaml").write_text(SAMPLE_LOG, encoding="utf-8")
    setup = _tracker(repo, "git-setup")
    assert setup.returncode == 0, setup.stderr
    assert "added 'events.yaml merge=tracker'" in setup.stderr
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    return repo


def _on_branch(repo: Path, branch: str, *commands: list[str]) -> None:
    _git(repo, "checkout", "-q", "main")
    _git(repo, "checkout", "-q", "-b", branch)
    for command in commands:
        result = _tracker(repo, *command)
        assert result.returncode == 0, result.stderr
    _git(repo, "commit", "-qam", branch)


def test_git_setup_writes_attributes_and_config(repo):
    assert (repo / ".gitattributes").read_text() == "events.yaml merge=tracker\n"
    driver = _git(repo, "config", "merge.tracker.driver").stdout.strip()
    assert driver.endswith("merge-driver %O %A %B")
    again = _tracker(repo, "git-setup")
    assert "already has" in again.stderr
    assert (repo / ".gitattributes").read_text() == "events.yaml merge=tracker\n"


def test_two_branches_appending_merge_without_conflict(repo):
    _on_branch(repo, "alice", ["add", "Alice's event", "--date", "2024-05-01"])
    _on_branch(repo, "bob", ["add", "Bob's event", "--date", "2024-05-02"], ["rm", "2024-02-approval", "--yes"])
    _git(repo, "checkout", "-q", "alice")
    merged = _git(repo, "merge", "-q", "bob", "-m", "merge bob", check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert _tracker(repo, "check").returncode == 0
    text = (repo / "events.yaml").read_text()
    assert text.index("2024-05-01-alices-event") < text.index("2024-05-02-bobs-event")
    assert "2024-02-approval" not in text
    assert text.startswith("# Sample log for tests\n") and text.endswith("# trailing comment stays\n")
    assert "<<<<<<<" not in text


def test_the_same_event_edited_differently_conflicts_on_that_event_only(repo):
    _on_branch(
        repo,
        "alice",
        ["edit", "2024-02-approval", "--title", "Approval at 20.1 percent"],
        ["add", "Alice adds", "--date", "2024-06"],
    )
    _on_branch(
        repo,
        "bob",
        ["edit", "2024-02-approval", "--title", "Approval slumps"],
        ["edit", "2024-04-11-kishida-congress", "--status", "reported"],
    )
    _git(repo, "checkout", "-q", "alice")
    merged = _git(repo, "merge", "bob", "-m", "merge bob", check=False)
    assert merged.returncode != 0
    assert "CONFLICT" in merged.stdout
    text = (repo / "events.yaml").read_text()
    assert text.count("<<<<<<< ours") == 1 and text.count(">>>>>>> theirs") == 1
    conflict = text[text.index("<<<<<<< ours") : text.index(">>>>>>> theirs")]
    assert "title: Approval at 20.1 percent" in conflict and "title: Approval slumps" in conflict
    assert "2024-03-25-kim-yo-jong-rejects" not in conflict
    assert "2024-06-alice-adds" in text
    outside = text.replace(conflict, "")
    assert "    status: reported\n" in outside


def test_merge_function_keeps_ours_byte_for_byte_and_merges_registries():
    ours = BASE.replace("    title: Third\n", "    title: Third\n  - id: d\n    date: 2024-04\n    title: Ours\n")
    theirs = BASE.replace("  - name: Kishida Fumio\n", "  - name: Kishida Fumio\n  - name: Zhao Leji\n")
    theirs = theirs.replace("    date: 2024-02\n    title: Second\n", "    date: 2024-02\n    title: Second, edited\n")
    theirs = theirs.replace("  - id: c\n    date: 2024-03\n    title: Third\n", "")
    theirs += "  - id: e\n    date: 2024-05\n    title: Theirs\n"
    merged = merge_logs(textwrap.dedent(BASE), textwrap.dedent(ours), textwrap.dedent(theirs))
    assert merged.conflicts == []
    assert merged.text == textwrap.dedent(
        """\
        # shared log
        actors:
          - name: Kim Yo Jong
          - name: Kishida Fumio
          - name: Zhao Leji
        events:
          - id: a
            date: 2024-01
            title: First
          # about b
          - id: b
            date: 2024-02
            title: Second, edited
          - id: d
            date: 2024-04
            title: Ours
          - id: e
            date: 2024-05
            title: Theirs
        """
    )


def test_deleted_on_one_side_and_edited_on_the_other_is_a_conflict():
    ours = BASE.replace("    title: Third\n", "    title: Third, edited\n")
    theirs = BASE.replace("  - id: c\n    date: 2024-03\n    title: Third\n", "")
    merged = merge_logs(BASE, ours, theirs)
    assert merged.conflicts == ["events: c"]
    assert (
        "<<<<<<< ours\n  - id: c\n    date: 2024-03\n    title: Third, edited\n=======\n>>>>>>> theirs\n" in merged.text
    )


def test_an_unparseable_side_falls_back_to_a_line_merge(tmp_path):
    base, ours, theirs = (tmp_path / name for name in ("base", "ours", "theirs"))
    base.write_text(BASE)
    ours.write_text(BASE.replace("title: First", "title: [broken"))
    theirs.write_text(BASE.replace("title: Third", "title: Third, theirs"))
    result = subprocess.run(
        [sys.executable, "-m", "tracker", "merge-driver", str(base), str(ours), str(theirs)],
        capture_output=True, text=True, env={**os.environ},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "falling back to a line-by-line merge" in result.stderr
    assert "title: [broken" in ours.read_text() and "title: Third, theirs" in ours.read_text()


def test_their_comment_and_title_changes_merge_when_lines_do_not_collide(repo):
    _on_branch(repo, "alice", ["add", "Alice's event", "--date", "2024-05-01"])
    _git(repo, "checkout", "-q", "main")
    _git(repo, "checkout", "-q", "-b", "bob")
    text = (repo / "events.yaml").read_text()
    (repo / "events.yaml").write_text(text.replace("# Sample log for tests", "# Sample log, reviewed"))
    _git(repo, "commit", "-qam", "bob")
    _git(repo, "checkout", "-q", "alice")
    merged = _git(repo, "merge", "-q", "bob", "-m", "merge bob", check=False)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    text = (repo / "events.yaml").read_text()
    assert text.startswith("# Sample log, reviewed\n") and "2024-05-01-alices-event" in text


def test_their_changes_outside_events_are_never_dropped_silently(repo):
    _on_branch(repo, "alice", ["add", "Alice's event", "--date", "2024-05-01"])
    _git(repo, "checkout", "-q", "main")
    _git(repo, "checkout", "-q", "-b", "bob")
    assert _tracker(repo, "add", "Bob's event", "--date", "2024-05-02").returncode == 0
    text = (repo / "events.yaml").read_text()
    (repo / "events.yaml").write_text(text.replace("# Sample log for tests", "# Sample log, reviewed"))
    _git(repo, "commit", "-qam", "bob")
    _git(repo, "checkout", "-q", "alice")
    merged = _git(repo, "merge", "bob", "-m", "merge bob", check=False)
    assert merged.returncode != 0
    assert "outside the events" in merged.stdout + merged.stderr
    text = (repo / "events.yaml").read_text()
    assert "2024-05-01-alices-event" in text and "2024-05-02-bobs-event" in text


def test_a_merge_that_would_not_check_is_a_conflict(repo):
    _on_branch(repo, "alice", ["add", "Follow-up", "--date", "2024-05-01", "--related", "2024-02-approval"])
    _on_branch(repo, "bob", ["rm", "2024-02-approval", "--yes"])
    _git(repo, "checkout", "-q", "alice")
    merged = _git(repo, "merge", "bob", "-m", "merge bob", check=False)
    assert merged.returncode != 0
    assert "does not check: related id '2024-02-approval' is not an event" in merged.stdout + merged.stderr
