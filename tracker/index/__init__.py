"""The index: a log's events in an SQLite file in the user's cache folder, so that a query reads only what it
prints and a writer reads only what it changes.

A layer above the reader it wraps (tracker.logfile, which never knows it exists)
and below the write path (tracker.store). An index is trusted only while the file
provably holds the content it was built from (see database.py); anything else (another
signature, a corrupt, truncated or older index) means a rebuild, into a temporary
file renamed into place, so concurrent readers and writers only ever see a whole index.
"""

from __future__ import annotations

import os
from pathlib import Path

from tracker.index.build import build as build_index
from tracker.index.database import (
    BLOCK_SIZE,
    Index,
    IndexBroken,
    IndexUnusable,
    Progress,
    cache_folder,
    current,
    index_file,
    instant,
    signature,
)
from tracker.index.log import IndexedLog, indexed_log
from tracker.model import Log

__all__ = [
    "BLOCK_SIZE",
    "Index",
    "IndexBroken",
    "IndexUnusable",
    "IndexedLog",
    "cache_folder",
    "index_file",
    "indexed_log",
    "instant",
    "load_log",
    "open_index",
    "signature",
]


def open_index(folder: Path, log_path: Path, *, progress: Progress | None = None, build: bool = True) -> Index:
    """The current index of the log at `log_path`, built or rebuilt first when it is missing or out of date.

    Raises IndexUnusable when the log cannot be served from an index (or, without
    `build`, has no current one): the caller then reads the file itself (and
    reports whatever is wrong with it).
    """
    real = Path(os.path.realpath(log_path))
    try:
        status = real.stat()
    except OSError:
        raise IndexUnusable from None
    database = index_file(folder, real)
    index = current(database, real, status)
    if index is not None:
        return index
    if not build:
        raise IndexUnusable
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        raise IndexUnusable from None
    build_index(database, real, str(log_path), progress)
    index = current(database, real, real.stat())
    if index is None:
        raise IndexUnusable  # the file changed while it was being indexed: read it directly this time
    return index


def load_log(path: Path, *, index_folder: Path | None = None, progress: Progress | None = None) -> Log:
    """Read the log for a reading command: the first error that makes it unusable raises.

    With `index_folder`, the log is answered from its index there (built first if
    needed, `progress` told how far along), unless the log cannot be indexed.
    """
    from tracker.logfile import load_file_log

    if index_folder is not None:
        try:
            return indexed_log(open_index(index_folder, path, progress=progress), str(path))
        except IndexUnusable:
            pass
    return load_file_log(path)
