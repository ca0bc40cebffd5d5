"""The README's tour is real: every `$ tracker ...` console block is run and its output compared."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```console\n\$ (.*?)\n(.*?)```", README, flags=re.DOTALL)


def test_readme_has_exactly_two_quick_start_commands():
    quick_start = README.split("## Quick start", 1)[1].split("## A tour", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quick_start, flags=re.DOTALL)
    assert commands == ["pip install . && tracker timeline", "pip install '.[test]' && python -m pytest"]


def test_readme_has_console_examples():
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize(("command", "expected"), BLOCKS, ids=[command for command, _ in BLOCKS])
def test_readme_example_output_is_real(command, expected, tmp_path):
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    launcher = bin_folder / "tracker"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tracker "$@"\n')
    launcher.chmod(0o755)
    environment = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "TRACKER_FILE")}
    environment["PATH"] = f"{bin_folder}{os.pathsep}{environment.get('PATH', '')}"
    result = subprocess.run(
        command, shell=True, cwd=ROOT, capture_output=True, text=True, env=environment, executable="/bin/bash"
    )
    assert result.stdout + result.stderr == expected
