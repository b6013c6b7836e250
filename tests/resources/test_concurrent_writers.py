"""Two writer processes on one table, each with its own Spark session: Delta's optimistic concurrency
detects commits that collide, the Lake retries what is safe to re-plan, nothing is lost or doubled.

* Blind appends race for the same log versions (each round released together by barrier files); Delta
  commits the loser on the next version, since appends cannot conflict. Every row lands once.
* Overwrites of one partition racing each round: the loser's ConcurrentAppendException makes the Lake
  re-run it on top of the winner, so the table always holds exactly one writer's whole round.
* A merge that read version V loses to a merge committed meanwhile on the same partition: committing on top
  would drop that merge's update (the lost update this guards against), so Delta refuses the commit and the
  Lake re-runs the merge. The result equals applying the two merges one after the other.
"""

from __future__ import annotations

import signal
from datetime import date
from pathlib import Path

import pytest

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
from tests.resources.workers import event_rows

RACE_DAYS = [date(2012, 5, 1), date(2012, 5, 2)]
ROUNDS = 4  # every round races for one log version (a barrier per round): four rounds are four races


@pytest.mark.slow  # two writer processes with a Spark session each
def test_racing_appends_collide_and_every_row_lands_once(lake, tmp_path):
    lake.ensure(EVENTS)
    steps = {who: [{"op": "append", "rows": event_rows(f"{who}{i}", RACE_DAYS, 2)} for i in range(ROUNDS)]
             for who in "ab"}
    reported = race(lake.settings.lake_root, tmp_path, steps)
    assert not [o for o in reported if "error" in o], reported
    commits = log_commits(lake.uri(EVENTS))  # versions 0..n, every commit whole JSON
    assert len(commits) == 1 + 2 * ROUNDS
    assert sorted(o["version"] for o in reported) == list(range(1, 2 * ROUNDS + 1))  # each got its own version
    ids = lake.read_small(EVENTS, columns=["event_id"])["event_id"].tolist()
    expected = {e for who in "ab" for i in range(ROUNDS) for e, _, _ in event_rows(f"{who}{i}", RACE_DAYS, 2)}
    assert len(ids) == len(expected) and set(ids) == expected
    assert shared_read_versions(commits), "the writers never collided: the test proved nothing"


@pytest.mark.slow
def test_racing_overwrites_of_one_partition_are_retried_and_one_round_stays_whole(lake, spark, tmp_path):
    """Both writers replace the same day each round: when one's commit finds the other's files in the
    range it replaced, Delta refuses it and the Lake re-runs it on top; the table never mixes two writes."""
    day = [RACE_DAYS[0]]
    lake.append(EVENTS, events(spark, [row(e, date.fromisoformat(d), a) for e, d, a in event_rows("old0", day, 2)]))
    steps = {who: [{"op": "overwrite", "days": [day[0].isoformat()], "rows": event_rows(f"{who}{i}", day, 2)}
                   for i in range(ROUNDS)] for who in "ab"}
    reported = race(lake.settings.lake_root, tmp_path, steps)
    assert not [o for o in reported if "error" in o], reported
    commits = log_commits(lake.uri(EVENTS))
    assert len(commits) == 2 + 2 * ROUNDS  # create, the old rows, every overwrite once
    assert any(o["attempts"] > 1 for o in reported), f"no overwrite ever conflicted: the test proved nothing {reported}"
    last = max(reported, key=lambda o: o["version"])
    ids = sorted(lake.read_small(EVENTS, columns=["event_id"])["event_id"])
    assert ids == [e for e, _, _ in event_rows(f"{last['who']}{last['step']}", day, 2)]  # the last commit, whole


def _merge_rows(rows):
    return [(e, d.isoformat(), a) for e, d, a in rows]


@pytest.mark.slow  # a writer process with its own Spark session
def test_merges_on_one_partition_conflict_and_are_replanned(lake, spark, tmp_path):
    base = [("k1", D1, 1.0), ("k2", D1, 1.0), ("k3", D1, 1.0), ("k4", D1, 1.0), ("m1", D2, 1.0)]
    table_dir = Path(lake.uri(EVENTS))
    go = [tmp_path / "go0", tmp_path / "go1", tmp_path / "go2"]
    steps = [
        # A merge allowed one attempt: losing the race is a clear error and leaves nothing behind.
        {"op": "merge", "rows": _merge_rows([("k1", D1, 10.0), ("a1", D1, 10.0)]), "attempts": 1, "wait": str(go[0])},
        # The same situation with retries: re-planned on top of the winner.
        {"op": "merge", "rows": _merge_rows([("k2", D1, 30.0), ("a2", D1, 30.0)]), "wait": str(go[1])},
        # An overwrite computed from the very partition it replaces: re-running it would drop the rival's row.
        {"op": "double", "days": [D1.isoformat()], "rows": [], "wait": str(go[2])},
    ]
    log = tmp_path / "writer-a.log"
    proc = start_worker({"lake_root": lake.settings.lake_root, "steps": steps}, log)
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
        assert "ConcurrentAppendException" in lost["message"]  # says why: the commit it lost to
        orphans = data_files(table_dir) - ever_added(table_dir)
        assert orphans, "the refused merge wrote no files before its commit: the race proved nothing"
        after_b = [("b1", D1, 20.0), ("b2", D1, 20.0), ("k1", D1, 20.0), ("k2", D1, 1.0), ("k3", D1, 1.0),
                   ("k4", D1, 1.0), ("m1", D2, 1.0)]
        assert contents(lake) == after_b  # nothing of the refused merge

        won = race(1, lambda: lake.merge(EVENTS, events(spark, [row("k2", D1, 40.0), row("k3", D1, 40.0)])))
        unsafe = race(2, lambda: lake.append(EVENTS, events(spark, [row("c1", D1, 5.0)])))
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
    assert unsafe["error"] == "ConcurrentWriteError", unsafe
    assert "computed from the table it replaces" in unsafe["message"]  # not re-run: it would drop c1
    assert contents(lake) == [("a2", D1, 30.0), ("b1", D1, 20.0), ("b2", D1, 20.0), ("c1", D1, 5.0), ("k1", D1, 20.0),
                              ("k2", D1, 30.0), ("k3", D1, 40.0), ("k4", D1, 1.0), ("m1", D2, 1.0)]
    commits = log_commits(str(table_dir))
    merged = commit_info(commits[won["version"]])
    assert won["version"] == len(commits) - 2 and merged["readVersion"] == won["version"] - 1  # c1 came after
    # The refused attempts' files were never committed: invisible, and VACUUM removes them.
    orphans = data_files(table_dir) - ever_added(table_dir)
    assert orphans and lake.vacuum(EVENTS, retain_hours=0) >= len(orphans)
    assert not data_files(table_dir) - ever_added(table_dir)
    assert contents(lake)[0] == ("a2", D1, 30.0)
