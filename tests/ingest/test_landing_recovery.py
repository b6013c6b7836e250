"""Files a killed collector leaves in the landing zone's _tmp/ are finished later, never lost, never stolen.

The writer processes here are real and really SIGKILLed; the kernel releases their file locks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from jobs.ingest.finnhub_ws import TRADES_STREAM
from jobs.ingest.landing import TMP_DIR, LandingWriter, landed_files, landing_root, recover_orphans
from jobs.trades.bronze import bronze_trades
from lake_schema.quarantine import QUARANTINE
from lake_schema.trades import BRONZE_TRADES

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 1, 5)
FRAME = '{"type":"trade","data":[{"s":"AAPL","p":%d.5,"t":1767621600000,"v":1}]}'
TORN = '{"received_at":"2026-01-05T14:00:03.000000Z","frame":"{\\"type\\":\\"tra'

# A collector's writer lands three frames, then dies in the middle of a line: a crash (or full disk)
# cuts a write short. Its file stays in _tmp/ under the writer's name, unlocked once it is dead.
_DIE_MID_LINE = f"""
import os, signal, sys
from datetime import date
from pathlib import Path
from jobs.ingest.landing import LandingWriter
writer = LandingWriter(Path(sys.argv[1]), {TRADES_STREAM!r}, prefix="trades")
for n in range(3):
    writer.write({{"received_at": "2026-01-05T14:00:0%dZ" % n, "frame": {FRAME!r} % (100 + n)}}, date(2026, 1, 5))
handle = writer._current.handle
handle.write({TORN!r})
handle.flush()
os.kill(os.getpid(), signal.SIGKILL)
"""


def _die_mid_line(landing: Path) -> Path:
    done = subprocess.run([sys.executable, "-c", _DIE_MID_LINE, str(landing)], cwd=ROOT, capture_output=True, timeout=60)
    assert done.returncode == -9, done.stderr
    [orphan] = (landing / TRADES_STREAM / TMP_DIR).glob("*.ndjson")
    return orphan


def test_a_killed_writers_file_reaches_bronze_and_its_torn_line_is_quarantined(lake):
    landing = landing_root(lake.settings)
    orphan = _die_mid_line(landing)
    assert orphan.read_text().endswith(TORN) and landed_files(landing, TRADES_STREAM) == []
    report = bronze_trades(lake)  # finishes the orphan first, then loads it
    assert report.tables[BRONZE_TRADES.name] == 3 and report.quarantined == {"malformed_landing_line": 1}
    assert sorted(r.price for r in lake.read(BRONZE_TRADES).collect()) == [100.5, 101.5, 102.5]
    [bad] = lake.read(QUARANTINE).collect()
    assert (bad.reason, bad.line_number, bad.target_table) == ("malformed_landing_line", 4, BRONZE_TRADES.name)
    assert json.loads(bad.record)["line"] == TORN and "received_at, frame" in bad.detail
    assert not list((landing / TRADES_STREAM / TMP_DIR).iterdir())
    [finished] = landed_files(landing, TRADES_STREAM)
    assert finished.parent.name == "date=2026-01-05" and finished.name == orphan.name.partition("_")[2]
    again = bronze_trades(lake)
    assert again.tables == {} and lake.read(BRONZE_TRADES).count() == 3  # taken exactly once


def test_recovery_takes_dead_writers_files_and_never_a_live_one(tmp_path):
    orphan = _die_mid_line(tmp_path)
    live = LandingWriter(tmp_path, TRADES_STREAM, prefix="trades")  # a new collector starts: it finishes the orphan
    assert [p.name for p in live.recovered] == [orphan.name.partition("_")[2]] and not orphan.exists()
    live.write({"received_at": "2026-01-05T15:00:00Z", "frame": FRAME % 200}, DAY)
    live._current.handle.flush()  # bytes on disk, as after any 8 KB of writes
    [open_file] = (tmp_path / TRADES_STREAM / TMP_DIR).glob("*.ndjson")
    assert open_file.stat().st_size > 0
    assert recover_orphans(tmp_path, TRADES_STREAM) == []  # locked: a live writer's, left alone
    assert LandingWriter(tmp_path, TRADES_STREAM).recovered == []  # a second collector beside it too
    final = live.roll()
    assert final is not None and json.loads(final.read_text())["frame"] == FRAME % 200
    assert len(landed_files(tmp_path, TRADES_STREAM)) == 2


def test_an_empty_orphan_is_removed_only_once_it_is_old(tmp_path):
    tmp = tmp_path / TRADES_STREAM / TMP_DIR
    tmp.mkdir(parents=True)
    empty = tmp / "2026-01-05_trades-20260105T140000000000-deadbeef.ndjson"
    empty.touch()  # a writer that died before its first flush (or one between creating and locking it)
    assert recover_orphans(tmp_path, TRADES_STREAM) == [] and empty.exists()
    old = time.time() - 120
    os.utime(empty, (old, old))
    assert recover_orphans(tmp_path, TRADES_STREAM) == [] and not empty.exists()
    assert landed_files(tmp_path, TRADES_STREAM) == []
