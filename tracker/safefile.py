"""Writing files safely: a lock that queues writers, an atomic replace that a crash cannot leave half done,
and copies of unchanged bytes made in the kernel."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from tracker.errors import Location, LogError

FLUSH_CHUNK_BYTES = 4 << 20  # bytes copied into a new file before they are handed to the disk, while more is copied


@contextlib.contextmanager
def locked(path: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (a lock file beside it) so that writers queue;
    `on_wait` is called once if another writer holds it."""
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise LogError(
            f"cannot create the lock file beside the log: {error.strerror}; the log is unchanged",
            Location(str(lock_path)),
        ) from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        _remove_leftovers(path)
        yield
    finally:
        os.close(descriptor)


def _remove_leftovers(path: Path) -> None:
    """Remove the temporary files of writers killed mid-write beside the log: with the lock held, none is
    writing. Only names tempfile gives for this log's name match (8 characters between name and .tmp)."""
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.{'[a-z0-9_]' * 8}.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a crash leaves the old file or the new one, never a mix.

    The temporary file lives in the same folder, is fsynced, takes the old file's
    mode (and owner where allowed), then replaces the target by rename; the folder is fsynced.
    A symlinked log is written through to its target; a read-only log is refused.
    Any failure raises LogError and leaves the old file as it was.
    """
    target = Path(os.path.realpath(path))
    try:
        replace_file(target, lambda descriptor: write_all(descriptor, data))
    except OSError as error:
        raise write_error(error, path) from None


def atomic_write_with(path: Path, produce: Callable[[Callable[[str], None]], None]) -> None:
    """atomic_write of the text `produce` hands on piece by piece (encoded as UTF-8 as it comes, so that
    the whole never needs to be in memory)."""
    target = Path(os.path.realpath(path))

    def fill(descriptor: int) -> None:
        with os.fdopen(descriptor, "w", encoding="utf-8", errors="surrogateescape", closefd=False) as handle:
            produce(handle.write)

    try:
        replace_file(target, fill)
    except OSError as error:
        raise write_error(error, path) from None


class FolderNotFlushed(OSError):
    """The new file is in place, but its folder could not be flushed to disk."""


def write_error(error: OSError, path: Path) -> LogError:
    """The one-line error for a write of `path` that failed with `error`."""
    reason = error.strerror or str(error)
    if isinstance(error, FolderNotFlushed):
        return LogError(f"written, but its folder could not be flushed to disk: {reason}", Location(str(path)))
    return LogError(f"cannot write: {reason}; nothing was changed", Location(str(path)))


def replace_file(target: Path, fill: Callable[[int], None], old_stat: os.stat_result | None = None) -> os.stat_result:
    """Replace `target` by a temporary file that `fill` writes through its descriptor (see atomic_write);
    the new file's stat taken before the rename, once its bytes are final."""
    folder = target.parent
    if old_stat is None:
        with contextlib.suppress(FileNotFoundError):
            old_stat = target.stat()
    if old_stat is not None:
        refuse_read_only(target, old_stat)
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        try:
            fill(descriptor)
            os.fsync(descriptor)
            written = os.fstat(descriptor)
        finally:
            os.close(descriptor)
        if old_stat is not None:
            os.chmod(temporary, old_stat.st_mode & 0o7777)
            with contextlib.suppress(OSError):
                os.chown(temporary, old_stat.st_uid, old_stat.st_gid)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    try:
        folder_descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_descriptor)
        finally:
            os.close(folder_descriptor)
    except OSError as error:
        raise FolderNotFlushed(error.errno, error.strerror) from None
    return written


def refuse_read_only(target: Path, status: os.stat_result) -> None:
    """Raise EACCES when the file at `target` (whose stat is `status`) cannot be written by this user."""
    if not status.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise OSError(errno.EACCES, "the file is read-only for you (check its permissions)")


def close_quietly(descriptor: int) -> None:
    """Close `descriptor`, ignoring errors (for closing in the background)."""
    with contextlib.suppress(OSError):
        os.close(descriptor)


def join_through_interrupt(thread: threading.Thread) -> None:
    """Wait for `thread` to end even through Ctrl-C (raised once it has): it writes to a descriptor that
    is closed next."""
    interrupted = None
    while thread.is_alive():
        try:
            thread.join()
        except KeyboardInterrupt as error:
            interrupted = error
    if interrupted is not None:
        raise interrupted


def copy_and_flush(
    source: int, destination: int, start: int, length: int, failures: list[BaseException] | None = None
) -> None:
    """Copy `length` bytes of `source` from `start` to the end of `destination` and, when they are at least a
    chunk, flush them to disk, each chunk handed to the disk while the next is copied. Run beside other work,
    a failure is put in `failures` instead of raised."""
    try:
        if length < FLUSH_CHUNK_BYTES:
            copy_range(source, destination, start, length)
            return
        for offset in range(start, start + length, FLUSH_CHUNK_BYTES):
            piece = min(FLUSH_CHUNK_BYTES, start + length - offset)
            written_at = os.lseek(destination, 0, os.SEEK_CUR)
            copy_range(source, destination, offset, piece)
            # Starts writing the chunk to disk now, while the next one is copied (PostgreSQL's pg_flush_data
            # falls back to the same hint); its pages, still being written, stay in the cache.
            with contextlib.suppress(AttributeError, OSError):
                os.posix_fadvise(destination, written_at, piece, os.POSIX_FADV_DONTNEED)
        os.fdatasync(destination)
    except BaseException as error:
        if failures is None:
            raise
        failures.append(error)


def write_all(descriptor: int, data: bytes) -> None:
    """Write every byte of `data` at `descriptor`'s position."""
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


def copy_range(source: int, destination: int, start: int, length: int) -> None:
    """Copy `length` bytes of `source` from `start` to the end of `destination`, in the kernel where it can."""
    position = start
    end = start + length
    while position < end:
        try:
            copied = os.copy_file_range(source, destination, end - position, position)
        except OSError as error:
            if error.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            copied = 0
        if copied == 0:
            os.lseek(source, position, os.SEEK_SET)
            piece = os.read(source, min(end - position, 1 << 20))
            if not piece:
                raise OSError(errno.EIO, "the log ended early while being copied")
            write_all(destination, piece)
            copied = len(piece)
        position += copied
