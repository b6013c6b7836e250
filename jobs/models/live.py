"""Live scoring: the newest registered intraday model predicts, for each symbol whose bars moved, the return over
the next N minutes from its last closed bars; then the scorecard judges every prediction whose outcome arrived.

The freshness stream runs the `models.live` step (`score_live`, jobs/models/steps.py) beside its micro-batches (`jobs.stream.scoring`), at the newest minute each
batch refreshed; a prediction already made is not made again, so scoring the same bars twice writes nothing twice.
`pulselake step models.live` runs it once over the newest day of bars. A model is loaded once per
process and kept while gold.model_runs is unchanged: a batch costs a look at that table's version, not a load.
Reads and commits go through delta-rs (`Lake.read_small`, `append_rows`, `merge_rows`): a day of bars is small, and
the stream beside the scorer has no time to spare for Spark commits.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from jobs.models import registry
from jobs.models.config import IntradayConfig
from jobs.models.intraday import SENTIMENT_FEATURE, latest_windows
from jobs.quality import first_failed_rule
from jobs.resources.lake import Lake, Txn
from lake_schema.gold_sentiment import SENTIMENT_DAILY
from lake_schema.models import LIVE_PREDICTIONS, MODEL_RUNS
from lake_schema.trades import BARS_1M


EXCHANGE, EXCHANGE_CLOSE = ZoneInfo("America/New_York"), time(16, 0)
SCORECARD_DAYS = 5  # trading days of predictions the scorecard looks back over (gold.live_scorecard's description)


@dataclass(frozen=True)
class LiveModel:
    version: str
    config: IntradayConfig
    predictor: object  # jobs.models.lstm.LstmPredictor
    flagged: bool
    reason: str | None

    @property
    def with_sentiment(self) -> bool:
        return SENTIMENT_FEATURE in self.predictor.feature_names


_CURRENT: dict[tuple[str, str], tuple[int, LiveModel | None]] = {}  # (lake root, name) -> (model_runs version, model)
_LOADED: dict[str, LiveModel] = {}  # model version -> the model, loaded once per process
LOADS: Counter = Counter()  # model version -> times loaded in this process (once, unless the cache is cleared)


def current_model(lake: Lake, name: str) -> LiveModel | None:
    """The registry's choice for `name` (jobs.models.registry.choose_model), re-chosen only when gold.model_runs
    has a new version; None while no run of that name exists."""
    if not lake.exists(MODEL_RUNS):
        return None
    key, version = (lake.settings.lake_root, name), lake.version(MODEL_RUNS)
    if key in _CURRENT and _CURRENT[key][0] == version:
        return _CURRENT[key][1]
    choice = registry.choose_model(lake, name)
    model = None if choice is None else _load(lake, choice)
    _CURRENT[key] = (version, model)
    return model


def _load(lake: Lake, choice: registry.Choice) -> LiveModel:
    run = choice.run
    if run["version"] not in _LOADED:
        hyperparameters = json.loads(run["hyperparameters"])
        hyperparameters.pop("feature_names", None)
        predictor = registry.load_model(lake, run["model_uri"])
        LOADS[run["version"]] += 1
        _LOADED[run["version"]] = LiveModel(run["version"], IntradayConfig.model_validate(hyperparameters), predictor,
                                            choice.flagged, choice.reason)
    loaded = _LOADED[run["version"]]
    # The flag can change without a new load (a later run of the name beat the random walk, or none did).
    return LiveModel(loaded.version, loaded.config, loaded.predictor, choice.flagged, choice.reason)


def newest_day(lake: Lake) -> date | None:
    """The newest trade_date of silver.bars_1m."""
    return lake.newest_partition(BARS_1M, "trade_date")


def session_close(day: date) -> datetime:
    """The regular session's close on `day`, in UTC (a prediction aiming later is never resolved)."""
    return datetime.combine(day, EXCHANGE_CLOSE, tzinfo=EXCHANGE).astimezone(timezone.utc)


def predict_rows(model: LiveModel, bars: pd.DataFrame, at: dict[str, pd.Timestamp], sentiment: pd.DataFrame | None,
                 scored_at: datetime) -> list[dict]:
    """gold.live_predictions rows: per symbol of `at`, the prediction from its window of bars closed by then."""
    windows = latest_windows(bars, at, model.config, sentiment, model.with_sentiment)
    if not len(windows):
        return []
    if tuple(model.predictor.feature_names) != tuple(windows.samples.feature_names):
        raise ValueError(f"model {model.version} was trained on features {model.predictor.feature_names}, the bars "
                         f"give {windows.samples.feature_names}: retrain it (pulselake step models.intraday_train)")
    predicted, prob_up = model.predictor.predict(windows.samples)
    horizon = timedelta(minutes=model.config.horizon_minutes)
    rows = []
    for i in np.flatnonzero(~(np.isnan(predicted) | np.isnan(prob_up))):
        predicted_at = pd.Timestamp(windows.at[i]).tz_localize("UTC").to_pydatetime()
        rows.append({"symbol": str(windows.samples.ticker[i]), "predicted_at": predicted_at,
                     "target_at": predicted_at + horizon, "horizon_minutes": model.config.horizon_minutes,
                     "last_close": float(windows.close[i]), "predicted_return": float(predicted[i]),
                     "prob_up": float(prob_up[i]), "model_version": model.version, "flagged": model.flagged,
                     "flag_reason": model.reason, "scored_at": scored_at,
                     "trade_date": pd.Timestamp(windows.samples.date[i]).date()})
    return rows


def append_predictions(lake: Lake, rows: list[dict], txn: Txn | None):
    """Spark judges the rows against the table's rules (one job on the driver's rows) and delta-rs commits them:
    a Spark commit would cost the stream beside it a second of both cores per batch. Rows that break a rule take
    the Lake's Spark path, which quarantines them with their reason."""
    frame = lake.spark.createDataFrame(rows, schema=LIVE_PREDICTIONS.spark_ddl())
    judged = frame.withColumn("_failed_rule", first_failed_rule(LIVE_PREDICTIONS)).toArrow()
    if judged["_failed_rule"].null_count < judged.num_rows:
        return lake.append(LIVE_PREDICTIONS, frame, txn=txn)
    return lake.append_rows(LIVE_PREDICTIONS, judged.drop_columns(["_failed_rule"]), txn=txn, judged=True)


def scorecard_days(lake: Lake, days: list[date]) -> list[date]:
    """The trade dates the scorecard judges: the newest SCORECARD_DAYS with predictions up to the newest of `days`,
    and `days`. A rolling window, so a new day starts with the evidence of the days before."""
    last = max(days)
    earlier = [d for d in lake.partition_values(LIVE_PREDICTIONS, "trade_date") if d <= last]
    return sorted({*earlier[-SCORECARD_DAYS:], *days})


def as_python(value):
    """A pandas cell as Spark's row conversion takes it (NaN -> None, pandas Timestamp -> datetime)."""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def predictions_made(lake: Lake, where: list, version: str) -> set[tuple[str, pd.Timestamp]]:
    """(symbol, predicted_at) of the predictions `version` already made on these days."""
    made = lake.read_small(LIVE_PREDICTIONS, where=where, columns=["symbol", "predicted_at"],
                           filters=[("model_version", "=", version)])
    return {(s, pd.Timestamp(t)) for s, t in zip(made["symbol"], made["predicted_at"])}


def daily_sentiment(lake: Lake, days: list[date]) -> pd.DataFrame:
    """gold.sentiment_daily of the calendar days before `days` (what the model's sentiment feature reads)."""
    before = sorted({d - timedelta(days=1) for d in days})
    return lake.read_small(SENTIMENT_DAILY, where=[("day_month", "in", sorted({d.strftime("%Y-%m") for d in before}))],
                           columns=["ticker", "day", "mean_sentiment"], filters=[("day", "in", before)])
