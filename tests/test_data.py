"""The bundled events.yaml: it checks clean and holds every event the source article reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.check import check_log
from tracker.logfile import read_log

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "events.yaml"


@pytest.fixture(scope="module")
def bundled():
    return read_log(LOG)


def test_bundled_log_passes_check(bundled):
    assert [str(problem) for problem in check_log(bundled.log, bundled.problems)] == []


def _find(log, date: str, *words: str, end: str | None = None):
    matches = [
        event
        for event in log.events
        if event.fields["date"] == date
        and (end is None or event.fields.get("end") == end)
        and all(word.lower() in (event.title + " " + event.summary).lower() for word in words)
    ]
    assert matches, (date, words)
    return matches[0]


@pytest.mark.parametrize(
    ("date", "words", "actors", "end"),
    [
        ("1970", ("abduct",), ["North Korea"], "1989"),
        ("2002-09-17", ("Koizumi", "Pyongyang"), ["Koizumi Junichiro"], None),
        ("2002-10-15", ("five", "abductees"), [], None),
        ("2019-02-27", ("Hanoi",), ["Donald Trump", "Kim Jong Un"], "2019-02-28"),
        ("2024-02-15", ("Kim Yo Jong", "KCNA"), ["Kim Yo Jong", "KCNA"], None),
        ("2024-02", ("20.1 percent",), ["Kishida Fumio"], None),
        ("2024-03-12", ("Sullivan",), ["Jake Sullivan"], None),
        ("2024-03-25", ("Kim Yo Jong", "summit"), ["Kim Yo Jong", "Kishida Fumio"], None),
        ("2024-03-26", ("KCNA",), ["KCNA"], None),
        ("2024-03-25?", ("Diet",), ["Kishida Fumio", "National Diet"], None),
        ("2024-04-02", ("intermediate-range", "hypersonic"), ["North Korea"], None),
        ("2024-04-08", ("state visit",), ["Kishida Fumio", "Joe Biden"], "2024-04-14"),
        ("2024-04-10", ("Biden",), ["Joe Biden"], None),
        ("2024-04-11", ("Zhao Leji", "pandemic"), ["Zhao Leji"], None),
        ("2024-04-11", ("Congress",), ["Kishida Fumio", "U.S. Congress"], None),
    ],
)
def test_bundled_log_holds_the_article_events(bundled, date, words, actors, end):
    event = _find(bundled.log, date, *words, end=end)
    assert set(actors) <= set(event.actors)
    assert event.fields.get("sources"), event.id


def test_abduction_counts_are_claims_attributed_to_each_side(bundled):
    event = _find(bundled.log, "1970", "abduct")
    claims = {claim["by"]: claim["text"] for claim in event.claims}
    assert "17" in claims["Ministry of Foreign Affairs of Japan"]
    assert "thirteen" in claims["North Korea"].lower() or "13" in claims["North Korea"]


def test_quotes_are_attributed_and_every_event_cites_a_source(bundled):
    for event in bundled.log.events:
        assert event.fields.get("sources"), event.id
        for quote in event.quotes:
            assert bundled.log.is_known_actor(quote["by"]), (event.id, quote)


def test_actor_registry_has_the_required_aliases(bundled):
    log = bundled.log
    assert log.canonical_actor("Fumio Kishida") == "Kishida Fumio"
    assert log.canonical_actor("Korean Central News Agency") == "KCNA"
    assert log.canonical_actor("Kim Yo-jong") == "Kim Yo Jong"
    for actor in log.actors:
        assert actor.role and actor.country, actor.name


def test_every_registry_source_has_a_seed_file(bundled):
    for source in bundled.log.sources:
        seed = source.fields.get("file")
        assert seed and (ROOT / seed).is_file(), source.id
        assert f"id: {source.id}" in (ROOT / seed).read_text(encoding="utf-8")
