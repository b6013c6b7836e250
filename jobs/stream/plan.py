"""What a micro-batch decided, written before it commits, so a replay decides the same.

A batch takes the landed files that no one has taken yet and fixes the event-time
high-water mark its watermark starts from. Both depend on the lake's state when the
batch first ran; after a crash between the bronze commit and the later writes, the
replay must reuse them rather than look again (the files it took are then "taken").
Plans live beside Spark's offsets in the checkpoint folder and are replaced
atomically; the last one saved before a successful bronze commit is the one committed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

PLAN_DIR = "pulselake_plans"
KEEP = 100  # as many as Spark keeps offsets by default (spark.sql.streaming.minBatchesToRetain)


@dataclass(frozen=True)
class BatchPlan:
    batch_id: int
    files: tuple[str, ...]  # landing-zone relative paths this batch writes to bronze
    taken_before: tuple[str, ...]  # files of the batch another writer (the nightly) took first
    high_water: datetime | None  # newest trade_ts in silver.trades when the batch was planned

    def to_json(self) -> str:
        return json.dumps({"batch_id": self.batch_id, "files": list(self.files),
                           "taken_before": list(self.taken_before),
                           "high_water": self.high_water.isoformat() if self.high_water else None})

    @classmethod
    def from_json(cls, text: str) -> "BatchPlan":
        raw = json.loads(text)
        high = datetime.fromisoformat(raw["high_water"]) if raw["high_water"] else None
        return cls(int(raw["batch_id"]), tuple(raw["files"]), tuple(raw["taken_before"]), high)


class PlanStore:
    def __init__(self, checkpoint: Path) -> None:
        self.folder = checkpoint / PLAN_DIR

    def _path(self, batch_id: int) -> Path:
        return self.folder / f"{batch_id:012d}.json"

    def save(self, plan: BatchPlan) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{plan.batch_id}.{os.getpid()}.tmp"
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(plan.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self._path(plan.batch_id))
        directory = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        for old in self.folder.glob("*.json"):
            if old.stem.isdigit() and int(old.stem) < plan.batch_id - KEEP:
                old.unlink(missing_ok=True)

    def load(self, batch_id: int) -> BatchPlan | None:
        path = self._path(batch_id)
        return BatchPlan.from_json(path.read_text(encoding="utf-8")) if path.exists() else None
