"""An excerpt of a log: the runs of its text a change needs, read by the positions the index keeps,
joined into one smaller YAML document that reads the way those parts of the log read.

Every event's text runs from the start of its first line to the start of the next
event's, so leaving whole events out of a block list leaves a list of the others.
An excerpt always holds the text around what it was asked for: the events before
and after each event, the `events:` line (or the whole head), and, with the log's
last event, everything after it to the end of the file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tracker.index import Index
from tracker.splice import Splice, apply_splices


@dataclass
class Segment:
    """A run of the log's bytes in an excerpt: where it stands in the file and in the excerpt, and what it holds."""

    offset: int  # byte offset in the file
    size: int  # bytes
    line: int  # 0-based line of its first byte in the file
    start: int  # character offset in the excerpt
    text: str = ""
    head: bool = False  # it begins with text before the events (the `events:` line, or the whole head)
    tail: bool = False  # it ends at the end of the file, after the log's last event
    seqs: list[int] = field(default_factory=list)  # the events whose text it holds, in file order

    @property
    def end(self) -> int:
        """Where it ends in the excerpt."""
        return self.start + len(self.text)


@dataclass
class Excerpt:
    """The runs of a log's text a change reads, in file order, and their text joined."""

    segments: list[Segment]
    text: str
    seqs: list[int]  # every event it holds, in file order
    head_offset: int  # where its head text begins in the file (the prelude or the whole head), or -1

    def place(self, splices: Sequence[Splice]) -> list[list[Splice]] | None:
        """`splices` (in excerpt offsets) sorted into the segments they fall in, in segment offsets;
        None when one does not fall inside a single segment (it would straddle text left out)."""
        placed: list[list[Splice]] = [[] for _ in self.segments]
        last = len(self.segments) - 1
        for splice in splices:
            for number, segment in enumerate(self.segments):
                if not segment.start <= splice.start <= splice.end <= segment.end:
                    continue
                if splice.start == splice.end and (
                    (splice.start == segment.start and number > 0) or (splice.start == segment.end and number < last)
                ):
                    return None  # an insertion where text was left out: before or after that text?
                placed[number].append(Splice(splice.start - segment.start, splice.end - segment.start, splice.text))
                break
            else:
                return None
        return placed

    def spliced(self, placed: Sequence[Sequence[Splice]]) -> list[str]:
        """Each segment's text with its splices applied."""
        return [
            apply_splices(segment.text, list(splices)) for segment, splices in zip(self.segments, placed, strict=True)
        ]


def read_excerpt(
    index: Index, descriptor: int, seqs: Sequence[int], *, head: bool = False, tail: bool = False
) -> Excerpt | None:
    """The excerpt holding the events `seqs` (with the text before the events: the `events:` line, or with
    `head` all of it; with `tail`, everything after the last event), read from the log open at `descriptor`.
    None when its bytes are not UTF-8 text (the index does not describe this file)."""
    meta = index.meta
    pieces: list[tuple[int, int, int, str, int | None]] = []  # offset, size, line, kind, seq
    bom = len("\ufeff".encode()) if meta["bom"] else 0
    head_offset = -1
    if head:
        head_offset = bom
        pieces.append((bom, meta["head_size"] - bom, 0, "head", None))
    elif meta["prelude"] is not None:
        head_offset = meta["prelude"]
        pieces.append((head_offset, meta["head_size"] - head_offset, meta["prelude_line"], "head", None))
    for seq, offset, size, line in index.chunks(sorted(seqs)):
        pieces.append((offset, size, line, "event", seq))
    if tail:
        end, end_line = index.events_end()
        pieces.append((end, meta["signature"][2] - end, end_line, "tail", None))
    segments: list[Segment] = []
    for offset, size, line, kind, seq in pieces:
        last = segments[-1] if segments else None
        if last is None or last.offset + last.size != offset:
            last = Segment(offset, 0, line, 0, head=kind == "head")
            segments.append(last)
        last.size += size
        last.tail = kind == "tail"
        if seq is not None:
            last.seqs.append(seq)
    start = 0
    for segment in segments:
        try:
            segment.text = _read(descriptor, segment.offset, segment.size).decode("utf-8")
        except (UnicodeDecodeError, OSError):
            return None
        segment.start = start
        start += len(segment.text)
    return Excerpt(
        segments,
        "".join(segment.text for segment in segments),
        [seq for segment in segments for seq in segment.seqs],
        head_offset,
    )


def _read(descriptor: int, offset: int, size: int) -> bytes:
    pieces = []
    while size > 0:
        piece = os.pread(descriptor, size, offset)
        if not piece:
            raise OSError("the log ended early")
        pieces.append(piece)
        offset += len(piece)
        size -= len(piece)
    return b"".join(pieces)


def line_of(texts: Sequence[str], segments: Sequence[Segment], line_shifts: Sequence[int]) -> Any:
    """A function giving, for a 1-based line of the excerpt made of `texts` (the segments' new texts), its
    1-based line in the new file; `line_shifts` says how many lines the file gained before each segment."""
    firsts = []
    excerpt_line = 0
    for text in texts:
        firsts.append(excerpt_line)
        excerpt_line += text.count("\n")

    def in_file(line: int) -> int:
        position = 0
        for number, first in enumerate(firsts):
            if first <= line - 1:
                position = number
        return segments[position].line + line_shifts[position] + (line - 1 - firsts[position]) + 1

    return in_file
