"""Two writer processes on one table: commits that collide are detected and retried, nothing is lost or doubled.

* Blind appends race for the same log versions (released together by a barrier file); delta-rs' put-if-absent
  refuses all but one, and the losers commit on the next version. Every row lands once.
* Overwrites of one partition planned from the same version: one commits, the other is refused.
* A merge that read version V loses to a merge committed meanwhile on the same partition: committing on top
  would drop that merge's update (the lost update this guards against), so the commit is refused and the Lake
  re-reads, re-plans and re-writes. The result equals applying the two merges one after the other.
"""

from __future__ import annotations

import signal
from datetime import date
from pathlib import Path

import pytest

from jobs.resources.delta_commit import CONFLICT_MARKER
from jobs.resources.lake import Lake
from jobs.settings import Settings
from tests.resources.faults import (
    commit_info,
    data_files,
    ever_added,
    kill,
    log_commits,
    new_files,
    outputs,
    race,
    shared_read_versions,
    signal_group,
    start_worker,
    wait_until,
)
from tests.resources.test_lake import D1, D2, EVENTS, contents, events, row
from tests.resources.workers import event_rows, write_and_commit

RACE_DAYS = ["2012-05-01", "2012-05-02"]


def test_racing_appends_collide_and_every_row_lands_once(tmp_path):
    lake = Lake(None, Settings(lake_root=str(tmp_path / "lake")))
    lake.ensure(EVENTS)
    reported = race(lake.settings.lake_root, tmp_path, RACE_DAYS, commits=12)
    commits = log_commits(lake.uri(EVENTS))  # versions 0..n, every commit whole JSON
    assert len(commits) == 1 + 2 * 12
    assert sorted(o["version"] for o in reported) == list(range(1, 25))  # each writer got its own versions
    ids = lake.read_small(EVENTS, columns=["event_id"])["event_id"].tolist()
    expected = {f"{who}{i}-{day}-{j}" for who in "ab" for i in range(12) for day in RACE_DAYS for j in range(2)}
    assert len(ids) == len(expected) and set(ids) == expected
    assert shared_read_versions(commits), "the writers never collided: the test proved nothing"


def test_racing_overwrites_of_one_partition_one_wins_each_round_the_other_is_refused(tmp_path):
    """Both writers plan an overwrite of the same day from the same version and commit together: one
    wins, the other's commit is refused (it would remove files it never saw) and its files are removed."""
    lake = Lake(None, Settings(lake_root=str(tmp_path / "lake")))
    write_and_commit(lake, event_rows("old0", [date(2012, 5, 1)], 2))
    reported = race(lake.settings.lake_root, tmp_path, ["2012-05-01"], commits=5, mode="overwrite")
    for i in range(5):
        outcome = sorted("version" if "version" in o else "conflict" for o in reported if o["i"] == i)
        assert outcome == ["conflict", "version"], f"round {i}: {reported}"
    assert all(CONFLICT_MARKER in o["conflict"] for o in reported if "conflict" in o)
    commits = log_commits(lake.uri(EVENTS))
    assert len(commits) == 2 + 5
    last = max((o for o in reported if "version" in o), key=lambda o: o["version"])
    assert last["version"] == 6
    ids = sorted(lake.read_small(EVENTS, columns=["event_id"])["event_id"])
    assert ids == [f"{last['who']}4-2012-05-01-0", f"{last['who']}4-2012-05-01-1"]  # the last winner, whole
    table_dir = Path(lake.uri(EVENTS))
    assert not data_files(table_dir) - ever_added(table_dir), "a refused writer left its files behind"


def _merge_rows(rows):
    return [(e, d.isoformat(), a) for e, d, a in rows]


@pytest.mark.slow  # a writer process with its own Spark session
def test_merges_on_one_partition_conflict_and_are_replanned(lake, spark, tmp_path):
    base = [("k1", D1, 1.0), ("k2", D1, 1.0), ("k3", D1, 1.0), ("k4", D1, 1.0), ("m1", D2, 1.0)]
    table_dir = Path(lake.uri(EVENTS))
    go = [tmp_path / "go0", tmp_path / "go1"]
    steps = [
        # A merge allowed one attempt: losing the race is a clear error and leaves nothing behind.
        {"op": "merge", "rows": _merge_rows([("k1", D1, 10.0), ("a1", D1, 10.0)]), "attempts": 1, "wait": str(go[0])},
        # The same situation with retries: re-planned on top of the winner.
        {"op": "merge", "rows": _merge_rows([("k2", D1, 30.0), ("a2", D1, 30.0)]), "wait": str(go[1])},
    ]
    log = tmp_path / "writer-a.log"
    proc = start_worker("lake", {"lake_root": lake.settings.lake_root, "steps": steps}, log)
    try:
        lake.append(EVENTS, events(spark, [row(e, d, a) for e, d, a in base]))  # while A's Spark starts
        wait_until(lambda: any(o.get("ready") for o in outputs(log)), 240, proc, poll_s=0.05)

        def race(step: int, rival) -> dict:
            """Let writer A plan and write its merge, freeze it before its commit, commit `rival` in this
            process, then let A commit on its stale read."""
            known = data_files(table_dir)
            version = len(log_commits(str(table_dir))) - 1
            go[step].touch()
            wait_until(lambda: new_files(table_dir, known), 240, proc)
            signal_group(proc, signal.SIGSTOP)
            try:
                assert len(log_commits(str(table_dir))) - 1 == version, "A committed before it was frozen"
                rival()
            finally:
                signal_group(proc, signal.SIGCONT)
            return wait_until(lambda: next((o for o in outputs(log) if o.get("step") == step), None), 240, proc, 0.05)

        def rival_0():
            lake.merge(EVENTS, events(spark, [row("k1", D1, 20.0), row("b1", D1, 20.0)]))
            lake.append(EVENTS, events(spark, [row("b2", D1, 20.0)]))  # a blind append to the same partition

        lost = race(0, rival_0)
        assert lost["error"] == "ConcurrentWriteError" and "lost to concurrent commits 1 times" in lost["message"]
        assert CONFLICT_MARKER in lost["message"]  # says why: the commit it lost to
        assert not data_files(table_dir) - ever_added(table_dir), "the refused merge left files behind"
        after_b = [("b1", D1, 20.0), ("b2", D1, 20.0), ("k1", D1, 20.0), ("k2", D1, 1.0), ("k3", D1, 1.0),
                   ("k4", D1, 1.0), ("m1", D2, 1.0)]
        assert contents(lake) == after_b  # nothing of the refused merge

        won = race(1, lambda: lake.merge(EVENTS, events(spark, [row("k2", D1, 40.0), row("k3", D1, 40.0)])))
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            kill(proc)
    output = log.read_text()
    assert won.get("error") is None, output[-3000:]
    assert won["attempts"] == 2 and not won["skipped"], won  # the conflict was detected and the merge re-planned
    assert "conflicted with a concurrent commit" in output
    # Serial order: B's merges, then A's. Under the old commit (against the latest version, not the one
    # read) A would have dropped B's k3 = 40 and put k2 back to what A read.
    assert contents(lake) == [("a2", D1, 30.0), ("b1", D1, 20.0), ("b2", D1, 20.0), ("k1", D1, 20.0),
                              ("k2", D1, 30.0), ("k3", D1, 40.0), ("k4", D1, 1.0), ("m1", D2, 1.0)]
    commits = log_commits(str(table_dir))
    last = commit_info(commits[-1])
    assert won["version"] == len(commits) - 1 and last["readVersion"] == len(commits) - 2
