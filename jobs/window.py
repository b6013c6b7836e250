"""What a run covers: a range of trade dates (or "latest": everything), and the moment it runs as.

Every step takes a `Window`. `start`/`end` bound the data's own dates (trade dates, post dates); `as_of`
is the run's moment, read from the wall clock only at the edge (the CLI, or an Airflow run's data
interval), so a step never asks the clock itself and a rerun of an old window sees what that run saw:
price files land in the partition of `as_of`'s day, bronze takes the landing batches of that day and
before, and a trading day counts as closed when it is before `as_of`'s day.

Airflow gives a run its range in one of three ways, and a task rebuilds exactly that range:

* explicit ``start``/``end`` params (the backfill DAG, or a manual override);
* the asset events that triggered it (the producer wrote its window into the event's ``extra``), as for
  the nightly build after the daily price ingestion;
* the run's data interval [start, end) — end is exclusive; an empty interval (a manual run of an
  asset-scheduled DAG) means the single day it starts on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Mapping


@dataclass(frozen=True)
class Window:
    start: date | None  # first trade date, inclusive; None with end None: "latest", all the data there is
    end: date | None  # last trade date, inclusive
    as_of: datetime  # the run's moment (UTC): what counts as landed, closed, or now
    source: str = "cli"  # how the run got it: "params", "asset events", "data interval", "cli"

    def __post_init__(self) -> None:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end (YYYY-MM-DD), or neither")
        if self.start is not None and self.start > self.end:
            raise ValueError(f"window start {self.start} is after its end {self.end}")
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware (UTC)")

    @classmethod
    def latest(cls, as_of: datetime, source: str = "cli") -> "Window":
        return cls(None, None, as_of, source)

    @property
    def bounded(self) -> bool:
        return self.start is not None

    @property
    def today(self) -> date:
        """The run's day: trading days before it are closed; price files land in its partition."""
        return self.as_of.astimezone(timezone.utc).date()

    def months(self) -> list[str] | None:
        """The window's months as YYYY-MM, None for "latest" (every month)."""
        if not self.bounded:
            return None
        out, year, month = [], self.start.year, self.start.month
        while (year, month) <= (self.end.year, self.end.month):
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year, month + 1) if month < 12 else (year + 1, 1)
        return out

    @property
    def key(self) -> str:
        """Names the range in app-transaction ids, so runs of different windows keep separate bookkeeping."""
        return f"{self.start}..{self.end}" if self.bounded else "latest"

    def __str__(self) -> str:
        span = f"{self.start} .. {self.end}" if self.bounded else "latest"
        return f"{span} as of {self.as_of:%Y-%m-%d %H:%M} UTC"

    def as_xcom(self) -> dict[str, str | None]:
        return {"start": self.start and self.start.isoformat(), "end": self.end and self.end.isoformat(),
                "as_of": self.as_of.isoformat(), "source": self.source}

    @classmethod
    def from_xcom(cls, value: Mapping[str, str | None]) -> "Window":
        start, end = value.get("start"), value.get("end")
        return cls(start and parse_day(start), end and parse_day(end), datetime.fromisoformat(str(value["as_of"])),
                   value.get("source") or "xcom")


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
    """An Airflow run's window; its as_of is the data interval's end (else the run's date), never the clock."""
    params = params or {}
    as_of = interval_end if interval_end is not None and interval_start is not None and interval_end > interval_start \
        else run_after
    if params.get("start") or params.get("end"):
        if not (params.get("start") and params.get("end")):
            raise ValueError("give both start and end (YYYY-MM-DD), or neither")
        return Window(parse_day(params["start"]), parse_day(params["end"]), run_after, "params")
    windows = [(parse_day(e["start"]), parse_day(e["end"])) for e in asset_extras if e.get("start") and e.get("end")]
    if windows:
        return Window(min(s for s, _ in windows), max(e for _, e in windows), run_after, "asset events")
    if interval_start is not None:
        return Window(*interval_days(interval_start, interval_end), as_of, "data interval")
    return Window(run_after.date(), run_after.date(), run_after, "run date")
