"""Writer processes that the commit-fault tests start, kill, pause and race.

Run as ``python -m tests.resources.workers arrow|lake ARGS_JSON``; each prints one JSON line per write.

* ``arrow`` drives our Spark data source's own writer (`_DeltaFileWriter`: Parquet files first, then one
  commit through `commit_adds`) without Spark, so a process is up in about a second and can write
  and commit many times.
* ``lake`` runs the real `Lake` with its own local Spark session: a list of steps (append, overwrite,
  merge), each optionally held until a file appears, so a test can line writers up against each other.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pyarrow as pa

from jobs.resources.delta_bridge import DeltaAddMessage, _DeltaFileWriter, filters_to_json
from jobs.resources.delta_commit import CommitConflict, find_commit
from jobs.resources.lake import Lake, Txn
from jobs.settings import Settings
from tests.resources.test_lake import EVENTS


def event_rows(prefix: str, days: list[date], per_day: int, amount: float = 1.0) -> list[tuple[str, date, float]]:
    return [(f"{prefix}-{day.isoformat()}-{j}", day, amount) for day in days for j in range(per_day)]


def arrow_batch(rows: list[tuple[str, date, float]]) -> pa.RecordBatch:
    """EVENTS rows (event_id, day, amount) as the Arrow batch Spark would hand the writer."""
    return pa.RecordBatch.from_pylist(
        [
            {"event_id": e, "day": d, "at": datetime(d.year, d.month, d.day, 14, 30, tzinfo=timezone.utc),
             "amount": a, "tags": ["t"]}
            for e, d, a in rows
        ],
        schema=EVENTS.arrow_schema(),
    )


def write_and_commit(
    lake: Lake,
    rows: list[tuple[str, date, float]],
    mode: str = "append",
    where: list[tuple[str, str, Any]] | None = None,
    txn: str | None = None,
    before_commit: Callable[[], None] | None = None,
) -> int | None:
    """One write exactly as a Spark job does it: every file, then one commit (replace writes commit
    against the version they started from, as `Lake.overwrite` does). Returns the committed version."""
    started_at = lake.ensure(EVENTS).version()
    options = {
        **lake._options(EVENTS),
        "mode": mode,
        "replace_where": filters_to_json(where),
        "commit_token": uuid.uuid4().hex,
        "txns": json.dumps([[txn, 1]] if txn else []),
        "target_file_rows": "1000000",
    }
    if mode == "overwrite":
        options["read_version"] = str(started_at)
    writer = _DeltaFileWriter(options, None)
    message: DeltaAddMessage = writer.write(iter([arrow_batch(rows)]))
    if before_commit:
        before_commit()
    writer.commit([message])
    found = find_commit(lake.uri(EVENTS), lake.settings.storage_options, options["commit_token"], after=started_at)
    return found[0] if found else None


def _wait_for(path: str | None) -> None:
    while path and not os.path.exists(path):
        time.sleep(0.001)


def _days(values: list[str]) -> list[date]:
    return [date.fromisoformat(v) for v in values]


def run_arrow(args: dict[str, Any]) -> None:
    """`commits` writes of `per_day` rows on each of `days`, after the `barrier` file appears. With
    `rendezvous` (the names of all racing writers) each round's commits start together: a writer that
    has written its files waits for the others to have written theirs. A refused commit is reported."""
    settings = Settings(lake_root=args["lake_root"], storage_options=args.get("storage_options", {}))
    lake = Lake(None, settings)
    days = _days(args["days"])
    where = [("day", "in", days)] if args.get("mode") == "overwrite" else None
    print(json.dumps({"ready": True}), flush=True)
    _wait_for(args.get("barrier"))
    for i in range(args.get("commits", 1)):
        rows = event_rows(f"{args['who']}{i}", days, args.get("per_day", 1), args.get("amount", 1.0))

        def meet(i: int = i) -> None:
            Path(f"{args['barrier']}.{args['who']}.{i}").touch()
            for other in args["rendezvous"]:
                _wait_for(f"{args['barrier']}.{other}.{i}")

        hold = meet if args.get("rendezvous") else None
        try:
            version = write_and_commit(lake, rows, args.get("mode", "append"), where, args.get("txn"), before_commit=hold)
        except CommitConflict as exc:  # this round went to the other writer
            print(json.dumps({"who": args["who"], "i": i, "conflict": str(exc)}), flush=True)
            continue
        print(json.dumps({"who": args["who"], "i": i, "version": version}), flush=True)


def run_lake(args: dict[str, Any]) -> None:
    """Steps of `Lake` writes with a real Spark session; each prints its CommitResult or its error."""
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
            if step["op"] == "merge":
                result = lake.merge(EVENTS, df, txn=txn)
            elif step["op"] == "overwrite":
                where = [("day", "in", _days(step["days"]))]
                result = lake.overwrite(EVENTS, df, where=where, txn=txn)
            else:
                result = lake.append(EVENTS, df, txn=txn)
            print(json.dumps({"step": number, **result.__dict__}), flush=True)
        except Exception as exc:  # the test asserts on the error's type and text
            print(json.dumps({"step": number, "error": type(exc).__name__, "message": str(exc)[:2000]}), flush=True)


if __name__ == "__main__":
    {"arrow": run_arrow, "lake": run_lake}[sys.argv[1]](json.loads(sys.argv[2]))
