"""
### Hourly Reddit ingestion

Collects the posts created in the run's data interval (one hour) from the
configured subreddits with praw into Kafka, then runs the graph's
`reddit.bronze` (every record bronze has not taken yet) and `reddit.silver`
(the posts created in the run's window, merged on their id).

* **Credentials:** `REDDIT_CLIENT_ID` / `REDDIT_CLIENT_SECRET` in the
  environment of the Airflow processes (never in the DAG or the lake).
  `REDDIT_OAUTH_URL` / `REDDIT_URL` point it at another endpoint, e.g. the
  replay server of `pulselake replay reddit`.
* **Idempotent:** bronze takes each Kafka record once (its checkpoint);
  silver merges on the post/comment id.
* Produces the `silver.reddit_posts` asset.
"""

from __future__ import annotations

from airflow.sdk import DAG, CronDataIntervalTimetable, Param

from jobs.orchestration import flows

with DAG(
    dag_id="pulselake_reddit_hourly",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    **flows.DAG_DEFAULTS,
    params={
        "subreddits": Param(["wallstreetbets", "stocks", "investing", "options"], type="array", items={"type": "string"}),
        "listings": Param(["new"], type="array", items={"type": "string"}, description="new, hot or top"),
    },
    doc_md=__doc__,
    tags=["pulselake", "ingestion", "reddit"],
):
    collected = flows.collect_reddit()
    steps = flows.step_tasks(flows.plan_window(), names=["reddit.bronze", "reddit.silver"],
                             announces={"reddit.silver": ["silver.reddit_posts"]})
    collected >> steps["reddit.bronze"]
