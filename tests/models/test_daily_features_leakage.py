"""Point in time for gold.daily_features (jobs/prices/gold.py), the table the models learn from:
changing or removing any bar after t leaves every feature at or before t unchanged."""

from __future__ import annotations

import pytest

from datetime import date, timedelta

import numpy as np

from jobs.prices.gold import build_daily_features

COLUMNS = ("ticker STRING, trade_date DATE, trade_month STRING, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, "
           "adj_close DOUBLE, volume BIGINT, return_1d DOUBLE")


def bars(seed: int, days: int = 70) -> list[tuple]:
    rng = np.random.default_rng(seed)
    rows = []
    for ticker in ("AAA", "BBB", "CCC"):
        price, previous = 50.0, None
        for i in range(days):
            day = date(2010, 1, 4) + timedelta(days=i)
            price *= 1 + rng.normal(0, 0.02)
            ret = None if previous is None else price / previous - 1
            rows.append((ticker, day, day.strftime("%Y-%m"), price, price * 1.01, price * 0.99, price, price,
                         int(rng.integers(1000, 5000)), ret))
            previous = price
    return rows


@pytest.mark.slow
def test_no_feature_at_or_before_t_moves_when_later_bars_change_or_vanish(spark):
    rows = bars(0)
    symbols = spark.createDataFrame([("AAA", "IT"), ("BBB", "Energy"), ("CCC", None)], "ticker STRING, sector STRING")
    honest = sorted(tuple(r) for r in build_daily_features(spark.createDataFrame(rows, COLUMNS), symbols).collect())
    rng = np.random.default_rng(1)
    for cutoff in (date(2010, 1, 25), date(2010, 2, 10), date(2010, 3, 1)):
        expected = [r for r in honest if r[1] <= cutoff]
        tampered = [
            r if r[1] <= cutoff else (r[0], r[1], r[2], *(float(v) for v in rng.uniform(1, 500, 5)), int(rng.integers(1, 10**7)),
                                      float(rng.normal()))
            for r in rows
        ]
        removed = [r for r in rows if r[1] <= cutoff]
        # and one ticker loses only its later rows while the others keep theirs
        partly = [r for r in rows if r[1] <= cutoff or r[0] != "BBB"]
        for variant in (tampered, removed, partly):
            got = sorted(tuple(r) for r in build_daily_features(spark.createDataFrame(variant, COLUMNS), symbols).collect())
            assert [r for r in got if r[1] <= cutoff] == expected
    # the windows fill in, so the comparison covers real numbers, not only NULLs
    assert sum(1 for r in honest if r[-1] is not None) > 100
