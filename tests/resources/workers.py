"""Writer processes that the commit-fault tests start, kill, pause and race.

Run as ``python -m tests.resources.workers ARGS_JSON``: the real `Lake` with its own local Spark session
(delta-spark), running a list of steps (append, overwrite, merge). A step may wait for a file to appear,
so a test can line writers up against each other; each step prints its CommitResult or its error as
one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import date, datetime, timezone
from typing import Any

from pyspark.sql import functions as F

from jobs.resources.lake import Lake, Txn
from jobs.resources.settings import Settings
from tests.resources.test_lake import EVENTS


def event_rows(prefix: str, days: list[date], per_day: int, amount: float = 1.0) -> list[tuple[str, str, float]]:
    """Rows (event_id, day as ISO text, amount) in the form a worker step takes."""
    return [(f"{prefix}-{day.isoformat()}-{j}", day.isoformat(), amount) for day in days for j in range(per_day)]


def _wait_for(path: str | None) -> None:
    while path and not os.path.exists(path):
        time.sleep(0.001)


def run(args: dict[str, Any]) -> None:
    from jobs.resources.spark import get_spark

    settings = Settings(lake_root=args["lake_root"], spark_master="local[1]", spark_driver_memory="1g",
                        storage_options=args.get("storage_options", {}))
    spark = get_spark(settings, "pulselake-worker")
    print(json.dumps({"ready": True}), flush=True)
    for number, step in enumerate(args["steps"]):
        _wait_for(step.get("wait"))
        lake = Lake(spark, settings, commit_attempts=step.get("attempts", 5))
        df = spark.createDataFrame(
            [(e, date.fromisoformat(d), datetime(2010, 1, 1, tzinfo=timezone.utc), a, ["t"]) for e, d, a in step["rows"]],
            EVENTS.spark_ddl(),
        )
        txn = Txn(step["txn"]) if step.get("txn") else None
        try:
            if step["op"] == "double":  # a read-modify-write of the partitions it replaces
                where = [("day", "in", [date.fromisoformat(d) for d in step["days"]])]
                doubled = lake.read(EVENTS, where=where).withColumn("amount", F.col("amount") * 2)
                result = lake.overwrite(EVENTS, doubled, where=where, txn=txn)
            elif step["op"] == "merge":
                result = lake.merge(EVENTS, df, txn=txn)
            elif step["op"] == "overwrite":
                result = lake.overwrite(EVENTS, df, where=[("day", "in", [date.fromisoformat(d) for d in step["days"]])],
                                        txn=txn)
            else:
                result = lake.append(EVENTS, df, txn=txn)
            print(json.dumps({"step": number, **result.__dict__}), flush=True)
        except Exception as exc:  # the test asserts on the error's type and text
            print(json.dumps({"step": number, "error": type(exc).__name__, "message": str(exc)[:2000]}), flush=True)
        if step.get("done"):
            open(step["done"], "w").close()


if __name__ == "__main__":
    run(json.loads(sys.argv[1]))
