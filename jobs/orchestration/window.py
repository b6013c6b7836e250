"""Which trade dates a scheduled run covers: its "partition", decided once per run.

Airflow gives a run its range in one of three ways, and a task must rebuild
exactly that range whichever it was (tasks as transactions):

* explicit ``start``/``end`` params (the backfill DAG, or a manual override);
* the asset events that triggered it (the producer wrote its window into the
  event's ``extra``), as for the nightly build after the daily price ingestion;
* the run's data interval [start, end) — end is exclusive, an empty interval
  (a manual run of an asset-scheduled DAG) means the single day it starts on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable, Mapping


@dataclass(frozen=True)
class Window:
    start: date  # first trade date, inclusive
    end: date  # last trade date, inclusive
    source: str  # "params", "asset events" or "data interval": how the run got it

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"window start {self.start} is after its end {self.end}")

    def as_xcom(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "source": self.source}

    @classmethod
    def from_xcom(cls, value: Mapping[str, str]) -> "Window":
        return cls(parse_day(value["start"]), parse_day(value["end"]), value.get("source", "xcom"))


def parse_day(value: str | date | datetime) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ValueError(f"{value!r} is not a date in YYYY-MM-DD form") from None


def interval_days(start: datetime, end: datetime | None) -> tuple[date, date]:
    """[start, end) as inclusive trade dates; an empty interval is the day it starts on."""
    if end is None or end <= start:
        return start.date(), start.date()
    return start.date(), (end - timedelta(microseconds=1)).date()


def resolve_window(
    params: Mapping[str, object] | None,
    asset_extras: Iterable[Mapping[str, object]],
    interval_start: datetime | None,
    interval_end: datetime | None,
    run_after: datetime,
) -> Window:
    params = params or {}
    if params.get("start") or params.get("end"):
        if not (params.get("start") and params.get("end")):
            raise ValueError("give both start and end (YYYY-MM-DD), or neither")
        return Window(parse_day(params["start"]), parse_day(params["end"]), "params")
    windows = [(parse_day(e["start"]), parse_day(e["end"])) for e in asset_extras if e.get("start") and e.get("end")]
    if windows:
        return Window(min(s for s, _ in windows), max(e for _, e in windows), "asset events")
    if interval_start is not None:
        return Window(*interval_days(interval_start, interval_end), "data interval")
    return Window(run_after.date(), run_after.date(), "run date")
