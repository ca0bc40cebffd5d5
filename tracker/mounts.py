"""What the filesystem under a file promises about its timestamps."""

from __future__ import annotations

import functools
import os
import re

# Local filesystems with multigrain timestamps (Linux 6.13 on): once a stat has read a file's times,
# the next change to the file stamps a visibly new ctime, however soon it comes.
MULTIGRAIN_FILESYSTEMS = frozenset({"ext4", "xfs", "btrfs", "tmpfs"})
MULTIGRAIN_LINUX = (6, 13)


def changes_show_after_stat(descriptor: int) -> bool:
    """Whether the file open at `descriptor` lives where any change that begins after a stat of it shows
    as a new ctime in the next stat (multigrain timestamps). False wherever that is not known.

    A change already under way at the stat (a long write whose times were stamped before it) need
    not show again: only a file nobody else was writing at the first stat is pinned by two equal stats.
    """
    mount_id = _mount_id(descriptor)
    return mount_id is not None and _mount_has_multigrain(mount_id)


def _mount_id(descriptor: int) -> int | None:
    try:
        with open(f"/proc/self/fdinfo/{descriptor}", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("mnt_id:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


@functools.lru_cache(maxsize=8)
def _mount_has_multigrain(mount_id: int) -> bool:
    uname = os.uname()
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
            mountinfo = handle.read()
    except OSError:
        return False
    return multigrain_timestamps(uname.sysname, uname.release, filesystem_type(mount_id, mountinfo))


def multigrain_timestamps(system: str, release: str, filesystem: str | None) -> bool:
    """Whether `filesystem` on this kernel (`system`, `release` as os.uname gives them) has multigrain
    timestamps: one of ext4, xfs, btrfs or tmpfs on Linux 6.13 or later."""
    version = re.match(r"(\d+)\.(\d+)", release)
    if system != "Linux" or version is None or filesystem not in MULTIGRAIN_FILESYSTEMS:
        return False
    return (int(version[1]), int(version[2])) >= MULTIGRAIN_LINUX


def filesystem_type(mount_id: int, mountinfo: str) -> str | None:
    """The filesystem type of the mount numbered `mount_id` (the mnt_id of /proc/self/fdinfo), per the
    text of /proc/self/mountinfo, or None when it is not listed there."""
    wanted = str(mount_id)
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if fields[0] == wanted and "-" in fields[6:]:
            separator = fields.index("-", 6)
            return fields[separator + 1] if separator + 1 < len(fields) else None
    return None
