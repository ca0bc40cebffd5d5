from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracker.cli import app


@pytest.fixture(autouse=True)
def cache_home(tmp_path_factory, monkeypatch):
    """Every test indexes into its own cache folder, never the user's."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.delenv("TRACKER_NO_INDEX", raising=False)
    return folder


SAMPLE_LOG = textwrap.dedent(
    """\
    # Sample log for tests
    actors:
      - name: Kishida Fumio
        aliases: [Fumio Kishida, Kishida]
        role: Prime Minister of Japan
        country: Japan
      - name: Kim Yo Jong
        aliases: [Kim Yo-jong]
        role: Vice department director, WPK Central Committee
        country: North Korea
      - name: KCNA
        aliases: [Korean Central News Agency]
        role: State news agency
        country: North Korea
    sources:
      - id: diplomat
        title: How Likely Is a Japan-North Korea Summit?
        publisher: The Diplomat
        url: https://example.org/diplomat
    events:
      - id: 1970-abductions
        date: 1970
        end: 1989
        title: North Korea abducts Japanese citizens
        tags: [abduction-issue]
        sources: [diplomat]

      # The 2024 thaw
      - id: 2024-02-15-kim-yo-jong-statement
        date: 2024-02-15
        title: Kim Yo Jong says ties could improve
        actors: [Kim Yo Jong, KCNA]
        type: statement
        tags: [summit, abduction-issue]
        sources: [diplomat]

      - id: 2024-02-approval
        date: 2024-02
        title: Cabinet approval falls to 20.1 percent
        actors: [Kishida Fumio]
        type: poll
        sources: [diplomat]

      - id: 2024-03-25-kim-yo-jong-rejects
        date: 2024-03-25
        title: Kim Yo Jong rejects summit terms
        summary: She says Kishida asked for a summit.
        actors: [Kim Yo-jong, Kishida]
        type: statement
        tags: [summit]
        sources: [diplomat]
        quotes:
          - by: Kim Yo Jong
            text: bid for popularity
        related: [2024-02-15-kim-yo-jong-statement]

      - id: 2024-04-11-kishida-congress
        date: 2024-04-11
        title: Kishida addresses the U.S. Congress
        actors: [Kishida Fumio]
        type: speech
        location: Washington, D.C.
        sources: [diplomat]
        status: confirmed
    # trailing comment stays
    """
)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "events.yaml"
    path.write_text(SAMPLE_LOG, encoding="utf-8")
    return path


@pytest.fixture
def invoke(runner: CliRunner, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TRACKER_FILE", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)

    def run(*args: str, **kwargs):
        return runner.invoke(app, list(args), **kwargs)

    return run
