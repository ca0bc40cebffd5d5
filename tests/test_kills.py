"""SIGKILL at any system call of any writer leaves the old log or the new one, never a mix, and an index
that is either what a fresh build of that log gives or not trusted at all."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import SAMPLE_LOG
from .test_store_index import assert_index_is_as_if_built

# Runs a tracker command in a process that kills itself (SIGKILL) at the Nth call of the functions a
# write goes through: opening, writing, copying, flushing, renaming and closing files, and the index's
# SQL statements. With N = 0 it prints how many calls the command made.
HARNESS = r"""
import json, os, signal, sqlite3, sys

target = int(sys.argv[1])
calls = [0]

def counted(function):
    def call(*args, **kwargs):
        calls[0] += 1
        if calls[0] == target:
            os.kill(os.getpid(), signal.SIGKILL)
        return function(*args, **kwargs)
    return call

for name in ("open", "write", "pwrite", "copy_file_range", "fsync", "fdatasync", "replace", "rename", "close",
             "unlink", "chmod", "ftruncate", "posix_fadvise"):
    if hasattr(os, name):
        setattr(os, name, counted(getattr(os, name)))


class Connection(sqlite3.Connection):
    def execute(self, *args):
        calls[0] += 1
        if calls[0] == target:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().execute(*args)

    def executemany(self, *args):
        calls[0] += 1
        if calls[0] == target:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().executemany(*args)


connect = sqlite3.connect
sqlite3.connect = lambda *args, **kwargs: connect(*args, factory=Connection, **kwargs)

from tracker.cli import main
sys.argv = ["tracker", *sys.argv[2:]]
try:
    main()
finally:
    if target == 0:
        print(json.dumps(calls[0]), file=sys.stderr)
"""

WRITERS = {
    "add": ["add", "Killed or not", "--date", "2024-05-01", "-a", "Kishida", "--summary", "one\ntwo"],
    "edit": ["edit", "2024-02-approval", "--status", "confirmed", "--add-tag", "polls"],
    "rename": ["edit", "2024-02-15-kim-yo-jong-statement", "--set", "id=2024-02-15-renamed"],
    "rm": ["rm", "2024-02-15-kim-yo-jong-statement", "--yes", "--force"],
    "import": ["import", "ROWS"],
}
KILLS_PER_WRITER = 30  # kill points per writer, a seeded sample of its calls (all of them, when fewer)


def _run(target: int, arguments: list[str], path: Path, cache: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    environment.pop("TRACKER_NO_INDEX", None)
    return subprocess.run(
        [sys.executable, "-c", HARNESS, str(target), *arguments, "-f", str(path)],
        capture_output=True, text=True, env=environment, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("writer", WRITERS)
def test_a_writer_killed_at_any_call_leaves_the_old_or_the_new_log_and_a_sound_index(invoke, tmp_path, writer):
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"date": "2024-06", "title": "Imported", "related": ["1970-abductions"]}) + "\n")
    arguments = [str(rows) if argument == "ROWS" else argument for argument in WRITERS[writer]]
    path, cache = tmp_path / "events.yaml", tmp_path / "cache"
    path.write_text(SAMPLE_LOG, encoding="utf-8")
    old = path.read_bytes()
    assert invoke("list", "-f", str(path), env={"XDG_CACHE_HOME": str(cache)}).exit_code == 0
    index_before = {file.name: file.read_bytes() for file in (cache / "tracker").iterdir()}
    counting = _run(0, arguments, path, cache)
    assert counting.returncode == 0, counting.stderr
    total = int(counting.stderr.strip().splitlines()[-1])
    new = path.read_bytes()
    assert new != old
    targets = range(1, total + 1)
    if total > KILLS_PER_WRITER:
        targets = sorted(random.Random(writer).sample(targets, KILLS_PER_WRITER))
    for target in targets:
        path.write_bytes(old)
        for name, content in index_before.items():
            (cache / "tracker" / name).write_bytes(content)
        killed = _run(target, arguments, path, cache)
        assert killed.returncode in (-signal.SIGKILL, 0), killed.stderr
        assert path.read_bytes() in (old, new), f"killed at call {target} of {total}"
        listed = invoke("list", "-f", str(path), "-F", "jsonl", env={"XDG_CACHE_HOME": str(cache)})
        assert listed.stdout == invoke("list", "-f", str(path), "-F", "jsonl", "--no-index").stdout
        assert_index_is_as_if_built(path, cache, tmp_path)
        # The next writer removes what the killed one left beside the log, and finds the index sound.
        assert (
            invoke("add", "After", "--date", "2025", "-f", str(path), env={"XDG_CACHE_HOME": str(cache)}).exit_code == 0
        )
        assert sorted(file.name for file in tmp_path.iterdir() if file.name.startswith(".events")) == [
            ".events.yaml.lock"
        ]
        assert_index_is_as_if_built(path, cache, tmp_path)
