"""Wall time and peak memory of a block, for the results table."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from bench._common import _children


def tree_rss_mib() -> float:
    """Resident memory of this process and every live descendant (the Spark JVM, Python workers)."""
    total_kb = 0
    for pid in [os.getpid(), *_children(os.getpid())]:
        try:
            with open(f"/proc/{pid}/status") as handle:
                total_kb += next((int(line.split()[1]) for line in handle if line.startswith("VmRSS:")), 0)
        except OSError:
            continue
    return round(total_kb / 1024, 1)


@contextmanager
def measured(into: dict, key: str, sample_every_s: float = 0.25) -> Iterator[None]:
    """Record `<key>_s` (wall seconds) and `<key>_peak_rss_mib` (process tree, sampled) into `into`."""
    peak = [tree_rss_mib()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(sample_every_s):
            peak[0] = max(peak[0], tree_rss_mib())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        into[f"{key}_s"] = round(time.perf_counter() - started, 2)
        done.set()
        sampler.join()
        into[f"{key}_peak_rss_mib"] = max(peak[0], tree_rss_mib())


def jvm_peak_heap_mib(spark) -> float | None:
    """Peak heap used by the Spark driver JVM (where local-mode executors live)."""
    try:
        jvm = spark.sparkContext._jvm
        pools = jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
        total = sum(pool.getPeakUsage().getUsed() for pool in pools if str(pool.getType()) == "Heap memory")
        return round(total / 1024 / 1024, 1)
    except Exception:  # noqa: BLE001 - a missing number is reported as None, not a crash
        return None
