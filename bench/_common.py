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
