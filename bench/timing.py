"""Wall time and peak memory of a block, for the results table."""

from __future__ import annotations

import resource
import time
from contextlib import contextmanager
from typing import Iterator


def _peak_rss_mib() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


@contextmanager
def measured(into: dict, key: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    into[f"{key}_s"] = round(time.perf_counter() - started, 2)
    into["peak_rss_mib"] = _peak_rss_mib()


def jvm_peak_heap_mib(spark) -> float | None:
    """Peak heap used by the Spark driver JVM (where local-mode executors live)."""
    try:
        jvm = spark.sparkContext._jvm
        pools = jvm.java.lang.management.ManagementFactory.getMemoryPoolMXBeans()
        total = sum(pool.getPeakUsage().getUsed() for pool in pools if str(pool.getType()) == "Heap memory")
        return round(total / 1024 / 1024, 1)
    except Exception:  # noqa: BLE001 - a missing number is reported as None, not a crash
        return None
