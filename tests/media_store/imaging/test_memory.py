"""What a burst of large buffers frees goes back to the operating system.

A fresh process frees thirty 5 MB buffers, three times over, while mid-sized objects
made between them live on (as a server's do). With glibc's default the buffers come
from the heap once the first is freed and most of that memory stays with the process;
with the allocator tuned as the app tunes it at start (``tune_allocator``), it goes back.
"""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

import pytest

from tests.support.s3 import REPO

BURST = """
import gc, random, sys
if sys.argv[1] == "tuned":
    from media_store.imaging.slots import tune_allocator
    tune_allocator()
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
start, kept = rss(), []
for _ in range(3):
    big = []
    for i in range(30):
        big.append(random.randbytes(16) * (5 * 1024 * 1024 // 16 + i))
        kept.append(bytes(64 * 1024 + i))
    del big
    gc.collect()
print(rss() - start)
"""


def retained_megabytes(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", BURST, mode],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO)},
    )
    return int(done.stdout)


@pytest.mark.skipif(not (ctypes.util.find_library("c") or "").startswith("libc.so"), reason="glibc")
def test_large_buffers_go_back_to_the_system_after_a_burst():
    assert retained_megabytes("default") > 64  # what a burst left behind before
    assert retained_megabytes("tuned") < 16
