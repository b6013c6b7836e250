"""Which trade dates a run covers and as of when, however it was started (the CLI, or Airflow in three ways)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from jobs.window import Window, resolve_window

UTC = timezone.utc
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_a_daily_data_interval_is_the_one_day_it_covers():
    window = resolve_window({}, [], datetime(2010, 1, 4, tzinfo=UTC), datetime(2010, 1, 5, tzinfo=UTC), NOW)
    assert (window.start, window.end, window.source) == (date(2010, 1, 4), date(2010, 1, 4), "data interval")
    # as_of is the interval's end, not the clock: a rerun of this old run sees 2010-01-05 as its "today".
    assert window.as_of == datetime(2010, 1, 5, tzinfo=UTC) and window.today == date(2010, 1, 5)


def test_an_empty_interval_is_its_day_and_params_win_over_everything():
    assert resolve_window(None, [], datetime(2010, 1, 4, 12, tzinfo=UTC), datetime(2010, 1, 4, 12, tzinfo=UTC), NOW).end == date(2010, 1, 4)
    window = resolve_window({"start": "2010-02-01", "end": "2010-03-31"}, [{"start": "2009-01-01", "end": "2009-01-02"}],
                            datetime(2010, 1, 4, tzinfo=UTC), None, NOW)
    assert (window.start, window.end, window.source) == (date(2010, 2, 1), date(2010, 3, 31), "params")


def test_asset_events_are_merged_into_one_window():
    extras = [{"start": "2010-01-05", "end": "2010-01-05"}, {"start": "2010-01-04", "end": "2010-01-04"}, {}]
    window = resolve_window({}, extras, None, None, NOW)
    assert (window.start, window.end, window.source) == (date(2010, 1, 4), date(2010, 1, 5), "asset events")
    assert Window.from_xcom(window.as_xcom()) == window


def test_bad_ranges_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="after its end"):
        resolve_window({"start": "2010-03-01", "end": "2010-02-01"}, [], None, None, NOW)
    with pytest.raises(ValueError, match="both start and end"):
        resolve_window({"start": "2010-03-01"}, [], None, None, NOW)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        resolve_window({"start": "March", "end": "2010-02-01"}, [], None, None, NOW)


def test_latest_has_no_range_and_a_range_names_its_months():
    latest = Window.latest(NOW)
    assert not latest.bounded and latest.months() is None and latest.key == "latest" and latest.today == date(2026, 3, 2)
    window = Window(date(2009, 11, 20), date(2010, 2, 3), NOW)
    assert window.months() == ["2009-11", "2009-12", "2010-01", "2010-02"]
    assert Window.from_xcom(window.as_xcom()) == window and Window.from_xcom(latest.as_xcom()) == latest
    with pytest.raises(ValueError, match="timezone-aware"):
        Window.latest(datetime(2026, 3, 2))
