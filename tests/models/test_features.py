"""Windows, labels and the point-in-time guarantee of the model's inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jobs.models.config import ExperimentConfig, load_config
from jobs.models.features import add_sentiment, build_samples, select_universe
from tests.models.synthetic import panel, tiny_config


def test_each_window_ends_on_its_date_and_is_labelled_with_the_next_days_return():
    frame = panel(days=40)
    config = tiny_config()
    samples = build_samples(frame, config)
    aaa = frame[frame.ticker == "AAA"].reset_index(drop=True)
    # return_20d first exists on row 19, so the first window of complete rows ends `window - 1` rows later
    pick = np.flatnonzero((samples.ticker == "AAA"))[0]
    end = int(np.flatnonzero(aaa.trade_date.to_numpy().astype("datetime64[D]") == samples.date[pick])[0])
    assert end == 19 + config.window - 1
    assert samples.y[pick] == pytest.approx(aaa.return_1d[end + 1])
    assert samples.last_return[pick] == pytest.approx(aaa.return_1d[end])
    assert samples.x[pick, -1, 0] == pytest.approx(aaa.return_1d[end])  # the window ends at day t
    assert samples.x[pick, 0, 0] == pytest.approx(aaa.return_1d[end - config.window + 1])
    # the last day of every ticker is a scoring row: no label
    last = samples.date == samples.date.max()
    assert last.sum() == 4 and np.isnan(samples.y[last]).all()


def test_a_missing_next_day_means_no_label_rather_than_a_multi_day_return():
    frame = panel(days=40)
    gap_day = frame.trade_date.unique()[30]
    frame = frame[~((frame.ticker == "BBB") & (frame.trade_date == gap_day))]
    samples = build_samples(frame, tiny_config())
    before_gap = (samples.ticker == "BBB") & (samples.date == np.datetime64(frame.trade_date.unique()[29], "D"))
    assert before_gap.sum() == 1 and np.isnan(samples.y[before_gap]).all()


def test_universe_coverage_drops_days_where_most_tickers_are_missing():
    frame = pd.concat([panel(("AAA", "BBB", "CCC"), days=30), panel(("ZZZ",), days=200, start="2009-06-01")])
    config = tiny_config()
    config.universe.min_day_coverage = 0.5
    kept = select_universe(frame, config)
    assert kept.trade_date.min() == pd.Timestamp("2010-01-04")
    assert kept.ticker.nunique() == 4 and (kept.groupby("trade_date").size() >= 2).all()


def test_configs_in_the_repo_load_and_unknown_features_are_refused():
    for name in ("nightly", "sp500_global", "long5_global", "long5_per_ticker"):
        assert load_config(name).window == 20
    with pytest.raises(ValueError, match="unknown features"):
        ExperimentConfig(name="x", features=["tomorrows_close"])
    with pytest.raises(FileNotFoundError, match="known"):
        load_config("no_such_config")


def _sentiment(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.date_range(frame.trade_date.min() - pd.Timedelta(days=3), frame.trade_date.max(), freq="D")
    rows = [(t, d, int(rng.integers(1, 9)), rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0, 1))
            for t in frame.ticker.unique() for d in days]
    return pd.DataFrame(rows, columns=["ticker", "day", "posts", "mean_sentiment", "weighted_sentiment", "bullish_share"])


@pytest.mark.parametrize("cutoff_index", [25, 47, 71])
def test_changing_or_removing_anything_after_t_leaves_every_feature_at_or_before_t_unchanged(cutoff_index):
    """The leakage test for the model's inputs: prices, volumes and sentiment after t
    (and sentiment written on day t itself, which is not complete at t's close) are
    tampered with or deleted; every window dated at or before t must be identical."""
    frame = panel(days=90, seed=5)
    cutoff = frame.trade_date.unique()[cutoff_index]
    sentiment = _sentiment(frame, 1)
    config = tiny_config()

    def windows(prices, sent):
        s = build_samples(add_sentiment(prices, sent), config, with_sentiment=True)
        keep = s.date <= np.datetime64(cutoff, "D")
        order = np.lexsort((s.date[keep], s.ticker[keep]))
        return s.x[keep][order], s.ticker[keep][order], s.date[keep][order]

    honest = windows(frame, sentiment)
    rng = np.random.default_rng(cutoff_index)
    tampered = frame.copy()
    after = tampered.trade_date > cutoff
    for column in tampered.columns.drop(["ticker", "trade_date"]):
        tampered.loc[after, column] = rng.normal(0, 1, after.sum())
    sent_tampered = sentiment.copy()
    late = pd.to_datetime(sent_tampered.day) >= cutoff  # day t's own sentiment too
    sent_tampered.loc[late, ["mean_sentiment", "weighted_sentiment"]] = 0.99
    sent_tampered.loc[late, "posts"] = 1000
    removed = frame[~after]
    for prices, sent in ((tampered, sent_tampered), (removed, sentiment[~late])):
        x, tickers, dates = windows(prices, sent)
        assert len(x) == len(honest[0]) > 0
        np.testing.assert_array_equal(x, honest[0])
        np.testing.assert_array_equal(tickers, honest[1])
        np.testing.assert_array_equal(dates, honest[2])
    # and the sentiment really is in the windows (the test would be hollow otherwise)
    assert np.abs(honest[0][:, :, -3]).sum() > 0
