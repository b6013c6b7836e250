"""How the read side opens the lake: the dashboard and every notebook in notebooks/ start here.
Open the lake through Lake, load a table, and say plainly when a table has nothing in it yet
instead of failing further down."""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from jobs.resources.lake import Lake
from jobs.resources.settings import repository_settings
from lake_schema.spec import TableSpec

# Which command fills a table, for the "is empty" message.
_FILLED_BY = {
    "silver.trades": "the stream fills it (`pulselake stream`)",
    "silver.bars_1m": "the stream fills it (`pulselake stream`)",
}
_DEFAULT_FILL = "the nightly build fills it (`make run`, i.e. `pulselake nightly`)"


lake_settings = repository_settings  # the notebooks' and the dashboard's lake: $PULSELAKE_LAKE_ROOT, else ./lake


def notebook_lake(spark: bool = False) -> Lake:
    """`open_lake` on `lake_settings()`, saying which lake it opened; with spark=True also a local Spark session
    (for whole-table aggregations), otherwise reads go through Lake.read_small (delta-rs, no JVM)."""
    from jobs.resources.spark import open_lake

    settings = lake_settings()
    print(f"lake: {settings.lake_root}" + (" (Spark started)" if spark else ""))
    return open_lake(settings, spark=spark, app_name="pulselake-notebook")


def empty_message(lake: Lake, spec: TableSpec) -> str:
    state = "is empty" if lake.exists(spec) else "does not exist yet"
    return f"{spec.name} {state}: {_FILLED_BY.get(spec.name, _DEFAULT_FILL)}."


def load(lake: Lake, spec: TableSpec, columns: Sequence[str] | None = None,
         filters: Sequence[tuple[str, str, Any]] | None = None, **kwargs: Any) -> pd.DataFrame:
    """`lake.read_small` that prints how many rows came back, or why there are none."""
    frame = lake.read_small(spec, columns=columns, filters=filters, **kwargs)
    narrowed = [*(kwargs.get("where") or []), *(filters or [])]
    if frame.empty and narrowed and lake.exists(spec) and not lake.read_small(spec, columns=[spec.column_names[0]]).empty:
        print(f"no row of {spec.name} matches {narrowed}")
    elif frame.empty:
        print(f"NOTE: {empty_message(lake, spec)}")
    else:
        print(f"{spec.name}: {len(frame):,} rows")
    return frame
