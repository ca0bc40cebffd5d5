from __future__ import annotations

import pytest

from tracker.dates import parse_date
from tracker.index import load_log
from tracker.query import select_events


@pytest.fixture
def log(log_path):
    return load_log(log_path)


def ids(selection) -> list[str]:
    return [event.id for event in selection.events]


def test_events_are_chronological_coarser_first(log):
    assert ids(select_events(log)) == [
        "1970-abductions",
        "2024-02-approval",
        "2024-02-15-kim-yo-jong-statement",
        "2024-03-25-kim-yo-jong-rejects",
        "2024-04-11-kishida-congress",
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"on": [parse_date("2024-03")]}, ["2024-03-25-kim-yo-jong-rejects"]),
        ({"on": [parse_date("1985")]}, ["1970-abductions"]),
        ({"on": [parse_date("2024-02-20")]}, ["2024-02-approval"]),
        (
            {"on": [parse_date("2024-02-20"), parse_date("2024-04")]},
            ["2024-02-approval", "2024-04-11-kishida-congress"],
        ),
        ({"since": parse_date("2024-03")}, ["2024-03-25-kim-yo-jong-rejects", "2024-04-11-kishida-congress"]),
        ({"until": parse_date("2024-02")}, ["1970-abductions", "2024-02-approval", "2024-02-15-kim-yo-jong-statement"]),
        ({"since": parse_date("1989-06"), "until": parse_date("2024-01")}, ["1970-abductions"]),
        ({"actors": ["kim yo-jong"]}, ["2024-02-15-kim-yo-jong-statement", "2024-03-25-kim-yo-jong-rejects"]),
        (
            {"actors": ["FUMIO KISHIDA"]},
            ["2024-02-approval", "2024-03-25-kim-yo-jong-rejects", "2024-04-11-kishida-congress"],
        ),
        (
            {"actors": ["Kishida", "KCNA"]},
            [
                "2024-02-approval",
                "2024-02-15-kim-yo-jong-statement",
                "2024-03-25-kim-yo-jong-rejects",
                "2024-04-11-kishida-congress",
            ],
        ),
        ({"actors": ["Kishida", "Kim Yo Jong"], "match_all": True}, ["2024-03-25-kim-yo-jong-rejects"]),
        ({"tags": ["summit", "abduction-issue"], "match_all": True}, ["2024-02-15-kim-yo-jong-statement"]),
        ({"tags": ["Abduction Issue"]}, ["1970-abductions", "2024-02-15-kim-yo-jong-statement"]),
        ({"types": ["statement"], "actors": ["Kishida"]}, ["2024-03-25-kim-yo-jong-rejects"]),
        ({"search": ["POPULARITY"]}, ["2024-03-25-kim-yo-jong-rejects"]),
        ({"search": ["asked for a summit"]}, ["2024-03-25-kim-yo-jong-rejects"]),
        ({"search": ["washington"]}, ["2024-04-11-kishida-congress"]),
        ({"search": ["congress", "approval"]}, ["2024-02-approval", "2024-04-11-kishida-congress"]),
        ({"limit": 2}, ["2024-03-25-kim-yo-jong-rejects", "2024-04-11-kishida-congress"]),
        ({"limit": 2, "reverse": True}, ["2024-04-11-kishida-congress", "2024-03-25-kim-yo-jong-rejects"]),
        ({"limit": 0}, []),
        ({"actors": ["Kishida"], "on": [parse_date("1999")]}, []),
    ],
)
def test_filters(log, filters, expected):
    assert ids(select_events(log, **filters)) == expected


def test_unknown_actor_or_tag_warns_with_the_closest_known(log):
    selection = select_events(log, actors=["Kishda"], tags=["sumit"], types=["statement,speech"])
    assert selection.events == []
    assert selection.warnings == [
        "no actor 'Kishda' in the log; did you mean 'Kishida', 'Kishida Fumio', 'Fumio Kishida'?",
        "no tag 'sumit' in the log; did you mean 'summit'?",
        "no type 'statement,speech' in the log; did you mean 'statement', 'speech'?",
    ]


def test_suggestions_prefer_names_containing_the_term(log):
    assert select_events(log, actors=["Kim"]).warnings == ["no actor 'Kim' in the log; did you mean 'Kim Yo Jong'?"]
