"""
### Daily table maintenance

Runs Delta's two housekeeping commands over every table of the lake, once a day:

* **optimize** compacts small files (the freshness stream commits a few per
  micro-batch) into larger ones, so reads open fewer files;
* **vacuum** then deletes files that no table version of the last 7 days
  references: data replaced by overwrites and merges, and the files a writer
  killed before its commit left behind (invisible to readers, but on disk).

The same commands run by hand as `pulselake optimize` and `pulselake vacuum`.
Both are safe to retry: a second optimize finds nothing to compact and a
second vacuum nothing to delete.
"""

from __future__ import annotations

from airflow.sdk import DAG, CronDataIntervalTimetable

from jobs.orchestration import flows

with DAG(
    dag_id="pulselake_maintenance",
    schedule=CronDataIntervalTimetable("30 5 * * *", timezone="UTC"),  # after the nightly has settled
    **flows.DAG_DEFAULTS,
    doc_md=__doc__,
    tags=["pulselake", "maintenance"],
):
    flows.optimize_tables() >> flows.vacuum_tables()
