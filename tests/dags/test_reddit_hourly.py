"""The hourly Reddit DAG against the embedded Reddit server (the real API over loopback, real praw)."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import datetime, timedelta, timezone

from deltalake import DeltaTable

from jobs.local.replay.corpus.generate import CORPUS_PATH
from jobs.local.replay.reddit_server import RedditReplayServer, RedditServerConfig
from tests.dags.conftest import REPO


def corpus_posts() -> list[dict]:
    with gzip.open(CORPUS_PATH, "rt") as handle:
        return [row for row in map(json.loads, handle) if row["kind"] == "t3"]


def test_an_hourly_run_takes_exactly_the_posts_of_its_hour(airflow_db, spark, settings, monkeypatch, kafka):
    from airflow.dag_processing.dagbag import DagBag

    posts = corpus_posts()
    hour_of = lambda p: datetime.fromtimestamp(p["created_utc"], timezone.utc).replace(minute=0, second=0)  # noqa: E731
    busiest, count = Counter(hour_of(p) for p in posts).most_common(1)[0]
    expected = {p["id"] for p in posts if hour_of(p) == busiest}
    assert count == len(expected) >= 2

    monkeypatch.setenv("PULSELAKE_LAKE_ROOT", settings.lake_root)
    with RedditReplayServer(RedditServerConfig(client_id="pulselake", client_secret="replay")) as server:
        for name, value in {"REDDIT_CLIENT_ID": "pulselake", "REDDIT_CLIENT_SECRET": "replay",
                            "REDDIT_OAUTH_URL": server.url, "REDDIT_URL": server.url}.items():
            monkeypatch.setenv(name, value)
        dag = DagBag(dag_folder=str(REPO / "dags")).dags["pulselake_reddit_hourly"]
        # A manual run at the end of the busiest hour covers that hour (the last complete interval).
        run = dag.test(logical_date=busiest + timedelta(hours=1))
    assert run.state == "success", {ti.task_id: ti.state for ti in run.get_task_instances()}

    silver = DeltaTable(f"{settings.lake_root}/silver/reddit_posts").to_pyarrow_table(columns=["post_id"])
    assert set(silver["post_id"].to_pylist()) == expected  # that hour's posts, none from the hours around it
