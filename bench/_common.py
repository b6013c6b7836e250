"""What every benchmark records beside its numbers: the machine it ran on."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def machine() -> dict:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with open("/proc/meminfo") as handle:
        mem_kb = int(handle.readline().split()[1])
    return {"cpu_cores": cores, "memory_gib": round(mem_kb / 2**20, 1), "cpu": platform.processor() or platform.machine(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}


def save(name: str, payload: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload | {"machine": machine()}, indent=1, default=str))
    return path


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            kids = [int(x) for x in handle.read().split()]
    except OSError:
        return []
    return kids + [g for k in kids for g in _children(k)]


def tree_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process and every live descendant
    (the Spark JVM and its Python workers included). On a shared machine wall time lies;
    CPU time says what the work costs: on 2 dedicated cores wall time >= cpu / 2."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in [os.getpid(), *_children(os.getpid())]:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks  # incl. waited-for children
    return total
