"""`captured_output`: noise from this process, its children and Python logging goes to the log file;
the terminal (the process's real stderr) gets only the console, the log path and crashes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from jobs.resources.run_log import run_log_path
from jobs.resources.settings import Settings

REPO = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import logging, os, subprocess, sys, warnings
from jobs.resources.run_log import captured_output

log, verbose, crash = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1"
with captured_output(log, verbose) as console:
    os.write(2, b"fd2-noise\n")
    subprocess.run(["sh", "-c", "echo child-noise >&2"], check=True)
    logging.getLogger("tensorflow").warning("retracing-noise")
    warnings.warn("python-warning-noise")
    print("stdout-noise")
    console.print("progress: step 1/1")
    if crash:
        raise ValueError("boom-message")
os.write(2, b"after-the-block\n")
"""
NOISE = ("fd2-noise", "child-noise", "retracing-noise", "python-warning-noise", "stdout-noise")


def run(tmp_path: Path, verbose: bool = False, crash: bool = False) -> tuple[subprocess.CompletedProcess, Path]:
    log = tmp_path / "_logs" / "nightly-test.log"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(log), str(int(verbose)), str(int(crash))],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    return done, log


def test_noise_goes_to_the_log_and_only_the_console_reaches_the_terminal(tmp_path):
    done, log = run(tmp_path)
    assert done.returncode == 0, done.stderr
    terminal = done.stderr + done.stdout
    assert "progress: step 1/1" in terminal
    assert f"full log: {log}" in terminal.replace("\n", "")
    assert not [noise for noise in NOISE if noise in terminal], terminal
    text = log.read_text()
    assert not [noise for noise in NOISE if noise not in text], text
    assert "WARNING tensorflow: retracing-noise" in text
    assert "progress: step 1/1" not in text
    # fds 1 and 2 are the terminal again after the block
    assert "after-the-block" in done.stderr and "after-the-block" not in text


def test_verbose_shows_the_noise_live_and_still_logs_it(tmp_path):
    done, log = run(tmp_path, verbose=True)
    assert done.returncode == 0, done.stderr
    assert not [noise for noise in NOISE if noise not in done.stderr], done.stderr
    assert "progress: step 1/1" in done.stderr
    text = log.read_text()
    assert not [noise for noise in NOISE if noise not in text], text
    flat = done.stderr.replace("\n", "")
    assert flat.index(f"full log: {log}") > max(flat.index(noise) for noise in NOISE)  # the path comes last


def test_a_crash_shows_its_traceback_then_the_log_path_and_exits_1(tmp_path):
    done, log = run(tmp_path, crash=True)
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "ValueError: boom-message" in done.stderr
    flat = done.stderr.replace("\n", "")
    assert flat.index("ValueError: boom-message") < flat.index(f"full log: {log}")
    assert done.stderr.count("ValueError: boom-message") == 1  # not printed twice
    assert not [noise for noise in NOISE if noise in done.stderr]
    assert "ValueError: boom-message" in log.read_text() and "child-noise" in log.read_text()


def test_the_log_lives_in_the_local_lake_or_in_logs_for_a_remote_one(tmp_path, monkeypatch):
    local = run_log_path(Settings(lake_root=str(tmp_path / "lake")), "nightly")
    assert local.parent == tmp_path / "lake" / "_logs"
    assert local.name.startswith("nightly-") and local.name.endswith("Z.log")
    monkeypatch.chdir(tmp_path)
    remote = run_log_path(Settings(lake_root="s3a://bucket/lake"), "nightly")
    assert remote.parent == tmp_path / "logs"
