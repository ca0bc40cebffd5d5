from __future__ import annotations

import os

import pytest

from tracker.mounts import changes_show_after_stat, filesystem_type, multigrain_timestamps

MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime shared:12 - proc proc rw
27 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
40 27 253:0 /srv /mnt/bind rw,relatime shared:1 master:3 - ext4 /dev/vda rw
41 27 0:45 / /tmp rw,nosuid - tmpfs tmpfs rw
50 27 0:50 / /work rw - overlay overlay rw,lowerdir=/a:/b
61 27 0:61 / /home rw - btrfs /dev/vdb rw,subvol=/home
"""


@pytest.mark.parametrize(
    ("mount_id", "expected"), [(27, "ext4"), (40, "ext4"), (41, "tmpfs"), (50, "overlay"), (61, "btrfs"), (99, None)]
)
def test_the_filesystem_of_a_mount_comes_from_mountinfo(mount_id, expected):
    assert filesystem_type(mount_id, MOUNTINFO) == expected


@pytest.mark.parametrize(
    ("system", "release", "filesystem", "expected"),
    [
        ("Linux", "6.13.0", "ext4", True),
        ("Linux", "6.18.44-fc-v669", "tmpfs", True),
        ("Linux", "7.0.1", "xfs", True),
        ("Linux", "10.2", "btrfs", True),
        ("Linux", "6.12.9-arch1", "ext4", False),
        ("Linux", "5.15.0-91-generic", "btrfs", False),
        ("Linux", "6.18.1", "overlay", False),
        ("Linux", "6.18.1", "nfs4", False),
        ("Linux", "6.18.1", None, False),
        ("Darwin", "24.1.0", "apfs", False),
        ("Linux", "unknown", "ext4", False),
    ],
)
def test_multigrain_timestamps_are_trusted_only_where_the_kernel_has_them(system, release, filesystem, expected):
    assert multigrain_timestamps(system, release, filesystem) is expected


def test_a_file_here_is_judged_by_its_own_mount(tmp_path):
    path = tmp_path / "log.yaml"
    path.write_text("events: []\n", encoding="utf-8")
    with open(path, "rb") as handle:
        mount_id = None
        with open(f"/proc/self/fdinfo/{handle.fileno()}", encoding="ascii") as info:
            mount_id = next(int(line.split()[1]) for line in info if line.startswith("mnt_id:"))
        with open("/proc/self/mountinfo", encoding="utf-8") as mounts:
            kind = filesystem_type(mount_id, mounts.read())
        uname = os.uname()
        assert changes_show_after_stat(handle.fileno()) is multigrain_timestamps(uname.sysname, uname.release, kind)
    assert changes_show_after_stat(10**6) is False  # no such descriptor
