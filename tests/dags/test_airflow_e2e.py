"""Airflow as a user runs it: the real api-server, scheduler and dag-processor on 127.0.0.1
(the launcher behind `make airflow`), the daily prices DAG triggered through the REST API v2
with a JWT from the auth manager, run by the LocalExecutor to success, its asset event (what
schedules the nightly) recorded with the run's window.

The nightly DAG's every task is run in process by tests/dags/test_dagbag.py (`dag.test()`):
through the scheduler it costs a Spark start per task, 17 of them, about 12 minutes on a
2-core machine, for plumbing (REST, JWT, scheduler, executor, XCom across task processes)
this smaller DAG goes through as well."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests
from deltalake import DeltaTable

from jobs.local.airflow_launcher import ADMIN, LocalAirflow, passwords_file
from tests.dags.conftest import SLICE, slice_rows

DAG_ID = "pulselake_prices_daily"
RUN_TIMEOUT_S = 900  # about 2 minutes on an idle 2-core machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, probe, timeout_s: float, every_s: float = 3.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def diagnose(api: str, headers: dict, run_id: str, airflow: LocalAirflow) -> str:
    tis = requests.get(f"{api}/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", headers=headers, timeout=60).json()
    states = {ti["task_id"]: ti["state"] for ti in tis.get("task_instances", [])}
    logs = "\n".join(f"--- {s}\n{airflow.log_path(s).read_text()[-1500:]}" for s in ("scheduler",))
    task_logs = "\n".join(str(p)[-120:] + "\n" + p.read_text()[-2500:] for p in sorted((airflow.home / "logs").rglob("attempt=*.log"))[-3:])
    return f"task states: {states}\n{logs}\n{task_logs}"


@pytest.mark.slow
def test_prices_dag_triggered_over_the_rest_api_succeeds_and_announces_its_window(tmp_path):
    lake = tmp_path / "lake"
    airflow = LocalAirflow(tmp_path / "airflow-home", free_port(), lake_root=str(lake),
                           extra_env={"PULSELAKE_SPARK_MASTER": "local[2]", "PULSELAKE_SPARK_DRIVER_MEMORY": "1g",
                                      # Unpaused, the DAG's cron would also start yesterday's run (bundled
                                      # files, not the slice): only the triggered run may write this lake.
                                      "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"})
    with airflow:
        airflow.wait_healthy(timeout_s=240)
        api = f"{airflow.url}/api/v2"
        # Authentication is on: no token, no DAGs.
        assert requests.get(f"{api}/dags", timeout=60).status_code == 401
        password = json.loads(passwords_file(airflow.home).read_text())[ADMIN]
        token = requests.post(f"{airflow.url}/auth/token", json={"username": ADMIN, "password": password}, timeout=60)
        assert token.status_code == 201, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

        wait_for("the dag-processor to serialize the prices DAG",
                 lambda: requests.get(f"{api}/dags/{DAG_ID}", headers=headers, timeout=60).status_code == 200, 180)
        unpaused = requests.patch(f"{api}/dags/{DAG_ID}", json={"is_paused": False}, headers=headers, timeout=60)
        assert unpaused.status_code == 200 and unpaused.json()["is_paused"] is False, unpaused.text
        trigger = requests.post(f"{api}/dags/{DAG_ID}/dagRuns", headers=headers, timeout=60, json={
            "logical_date": "2010-02-01T00:00:00Z",
            "data_interval_start": "2010-02-01T00:00:00Z",
            "data_interval_end": "2010-03-01T00:00:00Z",  # February 2010, end exclusive
            "conf": {"price_files": [f"sp500_2009={SLICE}"]},
        })
        assert trigger.status_code == 200, trigger.text
        run_id = trigger.json()["dag_run_id"]

        def finished():
            airflow.check_alive()
            try:  # on a busy 2-core machine the SQLite-backed API can be slow to answer; just ask again
                state = requests.get(f"{api}/dags/{DAG_ID}/dagRuns/{run_id}", headers=headers, timeout=30).json()["state"]
            except requests.RequestException:
                return None
            return state if state in ("success", "failed") else None

        started = time.monotonic()
        state = wait_for(f"run {run_id} to finish", finished, RUN_TIMEOUT_S, every_s=5)
        assert state == "success", diagnose(api, headers, run_id, airflow)
        print(f"prices DAG run over the REST API: {time.monotonic() - started:.0f} s")

        runs = requests.get(f"{api}/dags/{DAG_ID}/dagRuns", headers=headers, timeout=60).json()
        assert [r["dag_run_id"] for r in runs["dag_runs"]] == [run_id]  # the trigger's run, nothing scheduled
        tis = requests.get(f"{api}/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", headers=headers, timeout=60).json()
        assert {ti["state"] for ti in tis["task_instances"]} == {"success"}
        window = requests.get(f"{api}/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/plan_window/xcomEntries/return_value",
                              headers=headers, timeout=60).json()["value"]
        expected = {"start": "2010-02-01", "end": "2010-02-28", "as_of": "2010-03-01T00:00:00+00:00",
                    "source": "data interval"}
        assert window in (expected, json.dumps(expected))
        # The asset event that schedules pulselake_nightly carries the window it is to rebuild.
        events = requests.get(f"{api}/assets/events", params={"source_dag_id": DAG_ID, "source_run_id": run_id},
                              headers=headers, timeout=60).json()["asset_events"]
        assert [(e["name"], e["source_task_id"], e["extra"]) for e in events] == [
            ("bronze.daily_bars", "prices__bronze", {"start": "2010-02-01", "end": "2010-02-28"})]

    # Landing took the whole slice (all three months); bronze parsed every data line, once.
    bronze = DeltaTable(str(lake / "bronze" / "daily_bars")).to_pyarrow_table().to_pandas()
    assert len(bronze) == sum(slice_rows(m) for m in ("200912", "201001", "201002"))
