"""The rows an event has in the index, written in batches, and the log's vocabulary as they are written."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from typing import Any

from tracker.errors import Problem
from tracker.index.database import DAY_US, PAGE_BITS, ROW_BITS, IndexUnusable, instant
from tracker.model import Event, Log, normalise_name

BATCH = 2000
# What the vocabulary table holds: names as events write them, each kind in first-use order.
VOCABULARY_KINDS = ("actor", "tag", "type", "field")

# As json.dumps(fields, ensure_ascii=False) writes them, so that a JSON Lines export can pass the text on.
encode_fields = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


def event_names(event: Event) -> dict[str, list[str]]:
    """The names an event uses, by vocabulary kind, each once, in the order it writes them."""
    kind = event.type
    return {
        "actor": list(dict.fromkeys(event.actors)),
        "tag": list(dict.fromkeys(event.tags)),
        "type": [kind] if kind else [],
        "field": list(event.fields),
    }


class Rows:
    """Rows of events for the index, written in batches, and what the log's vocabulary is
    (for each name: the event that first uses it, its place there, and how many events use it)."""

    def __init__(self, connection: sqlite3.Connection, path: str) -> None:
        self.connection = connection
        self.path = path
        self.events: list[tuple[Any, ...]] = []
        self.actors: list[tuple[int, str, str, int, int, int]] = []
        self.tags: list[tuple[int, str, str, int]] = []
        self.related: list[tuple[int, str, int]] = []
        self.search: list[tuple[int, str]] = []
        self.uses: dict[str, Counter[str]] = {kind: Counter() for kind in VOCABULARY_KINDS}
        self.first: dict[str, dict[str, tuple[int, int]]] = {kind: {} for kind in VOCABULARY_KINDS}
        self.pages: dict[int, list[int]] = {}
        self.spans: set[int] = set()
        self.problems: list[Problem] | None = None
        self.flagged: list[int] = []  # positions of the events whose own check found something

    def add(self, event: Event, log: Log, size: int = 0, lines: int = 0) -> None:
        """Take in `event` (its `index` is its sequence number), whose text in the file is `size` bytes over
        `lines` lines; `log` gives the registries its actors resolve by."""
        from tracker.query import searchable_text

        seq = event.index
        fields = event.fields
        start, stop = instant(event.start), instant(event.stop)
        span = max(0, ((stop - start - 1) // DAY_US).bit_length())
        kind = event.type
        self.events.append(
            (
                seq, event.id, start, stop, span, event.date.precision_rank, normalise_name(kind), kind,
                size, lines, encode_fields(fields),
            )
        )  # fmt: skip
        self.spans.add(span)
        page = self.pages.get(seq >> PAGE_BITS)
        if page is None:
            self.pages[seq >> PAGE_BITS] = [size, lines]
        else:
            page[0] += size
            page[1] += lines
        names = event_names(event)
        if max(len(names["actor"]), len(names["tag"]), len(event.related)) >> ROW_BITS:
            raise IndexUnusable  # an event naming 65,536 actors or tags: read the log whole
        base = seq << ROW_BITS
        if names["actor"]:
            canonical = log.canonical_actor
            rank = event.date.precision_rank
            self.actors += [
                (base + number, normalise_name(name), name, seq, start, rank)
                for number, name in enumerate(dict.fromkeys(canonical(written) for written in names["actor"]))
            ]
        self.tags += [(base + number, normalise_name(tag), tag, seq) for number, tag in enumerate(names["tag"])]
        related = event.related
        if related:
            self.related += [(base + number, target, seq) for number, target in enumerate(dict.fromkeys(related))]
        self.search.append((seq, searchable_text(event)))
        for vocabulary_kind, used in names.items():
            if not used:
                continue
            self.uses[vocabulary_kind].update(used)
            first = self.first[vocabulary_kind]
            if not first.keys() >= set(used):
                for position, name in enumerate(used):
                    first.setdefault(name, (seq, position))
        if len(self.events) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the rows gathered so far."""
        execute = self.connection.executemany
        execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self.events)
        execute("INSERT INTO event_actors VALUES (?, ?, ?, ?, ?, ?)", self.actors)
        execute("INSERT INTO event_tags VALUES (?, ?, ?, ?)", self.tags)
        execute("INSERT INTO event_related VALUES (?, ?, ?)", self.related)
        execute("INSERT INTO search(seq, body) VALUES (?, ?)", self.search)
        self.events, self.actors, self.tags, self.related, self.search = [], [], [], [], []

    def summary(self) -> dict[str, Any]:
        """What these rows add to the vocabulary, the page sums and the span classes (as plain data)."""
        self.flush()
        return {
            "vocabulary": {
                kind: [[name, *self.first[kind][name], count] for name, count in self.uses[kind].items()]
                for kind in VOCABULARY_KINDS
            },
            "pages": [[page, *sums] for page, sums in self.pages.items()],
            "spans": sorted(self.spans),
        }

    def take(self, summary: dict[str, Any]) -> None:
        """Merge in the summary of rows written elsewhere (another process's half of the log)."""
        for kind, entries in summary["vocabulary"].items():
            for name, first_seq, first_pos, count in entries:
                self.uses[kind][name] += count
                known = self.first[kind].get(name)
                if known is None or (first_seq, first_pos) < known:
                    self.first[kind][name] = (first_seq, first_pos)
        for page, size, lines in summary["pages"]:
            sums = self.pages.setdefault(page, [0, 0])
            sums[0] += size
            sums[1] += lines
        self.spans.update(summary["spans"])

    def finish(self) -> list[int]:
        """Write the vocabulary and page sums; the span classes present."""
        self.flush()
        self.connection.executemany(
            "INSERT INTO vocabulary(kind, name, first_seq, first_pos, uses) VALUES (?, ?, ?, ?, ?)",
            [
                (kind, name, *self.first[kind][name], count)
                for kind in VOCABULARY_KINDS
                for name, count in self.uses[kind].items()
            ],
        )
        self.connection.executemany(
            "INSERT INTO pages(page, size, lines) VALUES (?, ?, ?)",
            [(page, *sums) for page, sums in self.pages.items()],
        )
        return sorted(self.spans)
