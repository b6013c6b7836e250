"""Airflow as a user runs it: the real api-server, scheduler and dag-processor on 127.0.0.1
(the launcher behind `make airflow`), the nightly DAG triggered through the REST API v2
with a JWT from the auth manager, run by the LocalExecutor to success."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests
from deltalake import DeltaTable

from jobs.orchestration.airflow_local import ADMIN, LocalAirflow, passwords_file
from tests.dags.conftest import SLICE, slice_rows

DAG_ID = "pulselake_nightly"
RUN_TIMEOUT_S = 1800  # about 3 minutes on an idle 2-core machine; over 14 when it is heavily shared


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
def test_nightly_dag_triggered_over_the_rest_api_succeeds(tmp_path, kafka):
    lake = tmp_path / "lake"
    airflow = LocalAirflow(tmp_path / "airflow-home", free_port(), lake_root=str(lake),
                           extra_env={"PULSELAKE_SPARK_MASTER": "local[2]", "PULSELAKE_SPARK_DRIVER_MEMORY": "1g"})
    with airflow:
        airflow.wait_healthy(timeout_s=240)
        api = f"{airflow.url}/api/v2"
        # Authentication is on: no token, no DAGs.
        assert requests.get(f"{api}/dags", timeout=60).status_code == 401
        password = json.loads(passwords_file(airflow.home).read_text())[ADMIN]
        token = requests.post(f"{airflow.url}/auth/token", json={"username": ADMIN, "password": password}, timeout=60)
        assert token.status_code == 201, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

        wait_for("the dag-processor to serialize the nightly DAG",
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
        print(f"nightly DAG run over the REST API: {time.monotonic() - started:.0f} s")

        tis = requests.get(f"{api}/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", headers=headers, timeout=60).json()
        assert {ti["state"] for ti in tis["task_instances"]} == {"success"}
        window = requests.get(f"{api}/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/plan_window/xcomEntries/return_value",
                              headers=headers, timeout=60).json()["value"]
        expected = {"start": "2010-02-01", "end": "2010-02-28", "as_of": "2010-03-01T00:00:00+00:00",
                    "source": "data interval"}
        assert window in (expected, json.dumps(expected))

    # The run wrote exactly February: the interval's partition.
    silver = DeltaTable(str(lake / "silver" / "daily_bars")).to_pyarrow_table().to_pandas()
    gold = DeltaTable(str(lake / "gold" / "daily_features")).to_pyarrow_table().to_pandas()
    assert set(silver["trade_month"]) == {"2010-02"} == set(gold["trade_month"])
    assert len(silver) == slice_rows("201002") == len(gold)
