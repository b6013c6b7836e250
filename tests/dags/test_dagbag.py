"""The DAG folder as the dag-processor sees it, and the nightly DAG run in-process with dag.test()."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

from deltalake import DeltaTable

from tests.dags.conftest import REPO, SLICE, slice_rows

EXPECTED_DAGS = {"pulselake_backfill", "pulselake_maintenance", "pulselake_nightly", "pulselake_prices_daily",
                 "pulselake_reddit_hourly"}
# What parsing must not import: the steps' declarations (jobs/<domain>/steps.py) are read, their work is not.
HEAVY = ("pyspark", "pandas", "deltalake", "tensorflow", "jobs.resources.lake", "jobs.prices.silver", "jobs.models.lstm",
         "jobs.trades.batch", "jobs.orchestration.task_runner")

_PARSE = f"""
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
started = time.perf_counter()
bag = DagBag(dag_folder={str(REPO / "dags")!r})
print(json.dumps({{
    "seconds": time.perf_counter() - started,
    "errors": bag.import_errors,
    "dags": {{d.dag_id: {{"doc_md": d.doc_md, "tasks": [t.task_id for t in d.tasks],
                         "retries": [t.retries for t in d.tasks], "timetable": type(d.timetable).__name__,
                         "upstream": {{t.task_id: sorted(t.upstream_task_ids) for t in d.tasks}}}}
             for d in bag.dags.values()}},
    "heavy": [m for m in {HEAVY!r} if m in sys.modules],
}}))
"""


def test_dag_folder_imports_cleanly_without_heavy_modules():
    # A fresh interpreter, as the dag-processor has: what parsing imports shows up in sys.modules.
    done = subprocess.run([sys.executable, "-c", _PARSE], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    parsed = json.loads(done.stdout.strip().splitlines()[-1])
    assert parsed["errors"] == {}
    assert set(parsed["dags"]) == EXPECTED_DAGS
    assert parsed["heavy"] == [], "DAG files must import Spark, pandas and the pipelines inside tasks only"
    for dag_id, dag in parsed["dags"].items():
        assert dag["doc_md"] and len(dag["doc_md"]) > 200, dag_id
        assert min(dag["retries"]) >= 1, f"{dag_id}: tasks are transactions, so they retry"
    nightly = parsed["dags"]["pulselake_nightly"]
    assert nightly["timetable"] == "AssetTriggeredTimetable"  # fed by the daily price ingestion
    # Built from the declared graph: every step but the collectors, one task each (and the window's planner).
    from jobs.pipeline.graph import select, upstream

    assert nightly["tasks"] == ["plan_window", *(step.task_id for step in select())]
    assert parsed["dags"]["pulselake_backfill"]["tasks"] == ["plan_window", *(s.task_id for s in select(groups=["prices"]))]
    # ...and wired by it: each task waits for the window and for the steps that write what it reads.
    chosen = select()
    for step in chosen:
        assert nightly["upstream"][step.task_id] == sorted(["plan_window", *(u.task_id for u in upstream(step, chosen))])
    print(f"DagBag parse: {parsed['seconds']:.3f} s for {len(parsed['dags'])} DAGs")


def test_nightly_dag_builds_the_window_month_in_process(airflow_db, spark, settings, monkeypatch, kafka):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("PULSELAKE_LAKE_ROOT", settings.lake_root)
    dag = DagBag(dag_folder=str(REPO / "dags")).dags["pulselake_nightly"]
    run = dag.test(logical_date=datetime(2010, 1, 15, tzinfo=timezone.utc),
                   run_conf={"price_files": [f"sp500_2009={SLICE}"]})

    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states
    assert set(states.values()) == {"success"} and len(states) == len(dag.tasks)
    # The run's window is one day in January 2010, so silver and gold hold exactly that month.
    lake = settings.lake_root
    silver = DeltaTable(f"{lake}/silver/daily_bars").to_pyarrow_table().to_pandas()
    gold = DeltaTable(f"{lake}/gold/daily_features").to_pyarrow_table().to_pandas()
    assert set(silver["trade_month"]) == {"2010-01"} == set(gold["trade_month"])
    assert len(silver) == slice_rows("201001") == len(gold)
    # Landing took the whole slice (all three months), bronze parsed every data line.
    assert DeltaTable(f"{lake}/bronze/daily_bars").to_pyarrow_table().num_rows == sum(slice_rows(m) for m in ("200912", "201001", "201002"))
