"""What every `pulselake` command shares: the console, date options, and opening the lake with a spinner."""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

import typer
from rich.console import Console

console = Console(stderr=True)
LAKE_ROOT_HELP = "lake location; default $PULSELAKE_LAKE_ROOT or ./lake"


def parse_date(value: Optional[str]) -> Optional[date]:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None


def settings_for(lake_root: Optional[str] = None):
    from jobs.resources.settings import Settings

    return Settings(**({"lake_root": lake_root} if lake_root else {}))


def started_lake(lake_root: Optional[str] = None, out: Optional[Console] = None):
    """`open_lake` for a command: a spinner while Spark starts (the first ~10 s of any table command)."""
    from jobs.resources.run_log import spinner
    from jobs.resources.spark import open_lake

    with spinner(out or console, "starting Spark"):
        return open_lake(settings_for(lake_root))


def require_broker(out: Optional[Console] = None) -> None:
    """Exit with one line when the Kafka a command needs is not there."""
    from jobs.resources.kafka import BrokerUnavailable, get_kafka_settings
    from jobs.resources.kafka import require_broker as check

    try:
        check(get_kafka_settings())
    except BrokerUnavailable as exc:
        (out or console).print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=1) from None
