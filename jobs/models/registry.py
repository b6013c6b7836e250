"""The model registry: Keras models under <lake_root>/models/<name>/<version>/, one
gold.model_runs row per training run, and the rule for which model scores.

Rule: of the runs (of a model name) trained on data up to the day being scored, the newest that beat the
random walk out of sample scores; where none did, the newest run scores and its predictions are flagged. A run
that saw data after that day never scores it: a backfill of an old window gets no look-ahead.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow.fs as pafs
from pyspark.sql import functions as F

from jobs.resources.lake import Lake
from jobs.resources.storage import arrow_filesystem, join_uri
from lake_schema.models import MODEL_RUNS

NOT_BEATEN = "no model of this name has beaten the random walk out of sample; newest run used"


def code_version() -> str:
    """git commit of this checkout (with -dirty for local edits), or 'unknown' outside git."""
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=root,
                             capture_output=True, text=True, timeout=10, check=True)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def new_version(model_name: str, fingerprint: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{model_name}-{stamp}-{fingerprint}"


def model_uri(lake: Lake, model_name: str, version: str) -> str:
    return join_uri(lake.settings.lake_root, "models", model_name, version)


def put_folder(local: Path, uri: str, storage_options: dict[str, str]) -> None:
    """Copy a local folder to the lake (a local path, s3:// or hdfs://)."""
    fs, path = arrow_filesystem(uri, storage_options)
    fs.create_dir(path, recursive=True)
    pafs.copy_files(str(local), path, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)


def get_folder(uri: str, local: Path, storage_options: dict[str, str]) -> Path:
    fs, path = arrow_filesystem(uri, storage_options)
    if fs.get_file_info(path).type != pafs.FileType.Directory:
        raise FileNotFoundError(f"model folder {uri} is missing from the lake")
    local.mkdir(parents=True, exist_ok=True)
    pafs.copy_files(path, str(local), source_filesystem=fs, destination_filesystem=pafs.LocalFileSystem())
    return local


def save_model(lake: Lake, predictor, model_name: str, version: str) -> str:
    uri = model_uri(lake, model_name, version)
    with tempfile.TemporaryDirectory() as tmp:
        predictor.save(Path(tmp))
        put_folder(Path(tmp), uri, lake.settings.storage_options)
    return uri


def load_model(lake: Lake, uri: str):
    from jobs.models.lstm import LstmPredictor

    with tempfile.TemporaryDirectory() as tmp:
        return LstmPredictor.load(get_folder(uri, Path(tmp), lake.settings.storage_options), lake.settings.tf_threads)


def runs(lake: Lake, model_name: str | None = None) -> list[dict]:
    """Registry rows, newest first."""
    if not lake.exists(MODEL_RUNS):
        return []
    frame = lake.read(MODEL_RUNS)
    if model_name:
        frame = frame.where(F.col("model_name") == model_name)
    return [r.asDict() for r in frame.orderBy(F.col("created_at").desc(), F.col("version").desc()).collect()]


@dataclass(frozen=True)
class Choice:
    run: dict
    flagged: bool
    reason: str | None


def trained_by(history: list[dict], day: date | None) -> list[dict]:
    """The runs whose training data ended on or before `day` (all of them for None, "latest"), newest data first."""
    known = [run for run in history if day is None or run["data_end"] <= day]
    return sorted(known, key=lambda run: (run["data_end"], run["created_at"], run["version"]), reverse=True)


def choose_model(lake: Lake, model_name: str, day: date | None = None) -> Choice | None:
    """Among runs trained on data to `day` (None: every run), the newest that beat the random walk; else the
    newest, flagged; None if there is none."""
    history = trained_by(runs(lake, model_name), day)
    if not history:
        return None
    for run in history:
        if run["beat_random_walk"]:
            return Choice(run, False, None)
    return Choice(history[0], True, NOT_BEATEN)


def register(lake: Lake, row: dict):
    """Merge one run into gold.model_runs (keyed on its version); the commit's result."""
    frame = lake.spark.createDataFrame([row], schema=MODEL_RUNS.spark_ddl())
    return lake.merge(MODEL_RUNS, frame)


def metrics_json(metrics: dict, folds: list) -> str:
    return json.dumps({"models": metrics, "folds": [
        {"train_end": str(f.train_end), "test_start": str(f.test_start), "test_end": str(f.test_end),
         "train_samples": f.train_samples, "test_samples": f.test_samples, "seconds": f.seconds} for f in folds
    ]}, sort_keys=True)
