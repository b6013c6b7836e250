"""`python -m bench`: run the benchmark scenarios and write bench/results/latest.{json,md}."""

from __future__ import annotations

import importlib
import json
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

RESULTS = Path(__file__).parent / "results"
RESULTS_PAGE = Path(__file__).parent.parent / "docs" / "benchmarks.md"
PAGE_START, PAGE_END = "<!-- bench:start -->", "<!-- bench:end -->"
SCENARIOS = ["lake_io", "batch", "incremental", "stream", "models", "intraday", "sentiment"]
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True)


def _parse_size(text: str) -> int:
    text = text.strip().upper()
    factor = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * factor)


@app.command()
def main(
    scenario: Optional[list[str]] = typer.Option(None, help=f"scenarios to run (default: all of {SCENARIOS})"),
    sizes: str = typer.Option("1M,10M,100M", help="row counts for the batch scenario (its cost curve), e.g. 1M,10M"),
    io_sizes: str = typer.Option("1M,10M", help="row counts for the lake_io scenario (Delta against plain Parquet)"),
    workdir: Optional[Path] = typer.Option(None, help="scratch folder (default: a temporary one)"),
    quote: bool = typer.Option(True, help="after a full run, quote the table in docs/benchmarks.md"),
) -> None:
    """Run benchmarks on this machine and record the numbers with the machine they came from (bench/results/latest.*
    for a full run, bench/results/<scenarios>.* for a subset)."""
    from bench.machine import describe
    from jobs.resources.spark import get_spark
    from jobs.resources.settings import Settings

    chosen = scenario or SCENARIOS
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        raise typer.BadParameter(f"unknown scenarios {unknown}; choose from {SCENARIOS}")
    row_counts = [_parse_size(s) for s in sizes.split(",")]
    counts_for = {"lake_io": [_parse_size(s) for s in io_sizes.split(",")]}
    spark = get_spark(Settings(spark_master="local[*]", spark_driver_memory="8g"), "pulselake-bench")
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="pulselake-bench-") as scratch:
        base = workdir or Path(scratch)
        warm_up(spark, base / "warm-up")
        for name in chosen:
            counts = counts_for.get(name, row_counts)
            console.print(f"[bold]scenario {name}[/bold] sizes={counts}")
            started = time.perf_counter()
            module = importlib.import_module(f"bench.scenarios.{name}")
            for row in module.run(spark, base, counts):
                results.append(row)
                console.print(row)
            console.print(f"  {name} took {time.perf_counter() - started:.0f} s")
    report = {"measured_at": datetime.now(timezone.utc).isoformat(), "machine": describe(), "results": results}
    RESULTS.mkdir(exist_ok=True)
    # A full run is the table docs/benchmarks.md quotes (latest.*); a subset keeps its own file and leaves that alone.
    stem = "latest" if set(chosen) == set(SCENARIOS) else "_".join(chosen)
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=2))
    (RESULTS / f"{stem}.md").write_text(to_markdown(report))
    console.print(f"wrote {RESULTS / (stem + '.json')} and {RESULTS / (stem + '.md')}")
    if quote and set(chosen) == set(SCENARIOS):
        quote_in_page(RESULTS_PAGE, to_markdown(report))
        console.print(f"updated the results table in {RESULTS_PAGE}")


def quote_in_page(page: Path, table: str) -> None:
    """Replace the text between the page's bench markers with the new table."""
    text = page.read_text()
    start, end = text.index(PAGE_START) + len(PAGE_START), text.index(PAGE_END)
    page.write_text(text[:start] + "\n" + table + "\n" + text[end:])


def warm_up(spark, folder: Path) -> None:
    """Start the Python workers and JIT both write paths once, so no scenario pays start-up."""
    from bench.synthetic import synthetic_bronze_trades
    from jobs.resources.lake import Lake
    from jobs.resources.settings import Settings
    from lake_schema.trades import BRONZE_TRADES

    data = synthetic_bronze_trades(spark, 10_000)
    lake = Lake(spark, Settings(lake_root=str(folder / "lake"), spark_master=spark.sparkContext.master))
    lake.append(BRONZE_TRADES, data)
    lake.read(BRONZE_TRADES).count()
    data.write.mode("overwrite").parquet(str(folder / "parquet"))
    spark.read.parquet(str(folder / "parquet")).count()


TARGETS = [
    # (what, scenario, row filter, value key, comparison, target): the batch-speed and stream issues' targets
    ("batch: Spark / DuckDB wall time at 10M rows", "batch", {"rows": 10_000_000}, "spark_over_duckdb", "<=", 2.0),
    ("batch: 100M rows run to completion", "batch", {"rows": 100_000_000}, "completed", "==", True),
    ("incremental: 100-day / 10-day lake", "incremental", {}, "ratio_100d_over_10d", "<=", 1.2),
    ("stream: p95 receipt-to-readable at 5k trades/s (s)", "stream", {"target_trades_per_s": 5000}, "delay_p95_s", "<=", 5.0),
    ("stream: p50 receipt-to-readable at 5k trades/s (s)", "stream", {"target_trades_per_s": 5000}, "delay_p50_s", "<=", 2.5),
    ("stream: 5k trades/s kept up (backlog does not grow)", "stream", {"target_trades_per_s": 5000}, "keeps_up", "==", True),
    ("stream: p95 receipt-to-bar at 5k trades/s (s)", "stream", {"target_trades_per_s": 5000}, "bar_delay_p95_s", "<=", 10.0),
    ("lake I/O: Delta write / Parquet write at 10M rows", "lake_io", {"rows": 10_000_000}, "write_ratio", "<=", 1.2),
    ("lake I/O: Delta read / Parquet read at 10M rows", "lake_io", {"rows": 10_000_000}, "read_ratio", "<=", 1.5),
]
COMPARE = {">=": lambda value, target: value >= target, "<=": lambda value, target: value <= target,
           "==": lambda value, target: value == target}


def check_targets(results: list[dict]) -> list[dict]:
    """Each target against the measured value (None when not run)."""
    checked = []
    for what, scenario, match, key, op, target in TARGETS:
        rows = [r for r in results if r["scenario"] == scenario and all(r.get(k) == v for k, v in match.items())]
        value = rows[0].get(key) if rows else None
        met = None if value is None else COMPARE[op](value, target)
        goal = f"{op} {target:,}" if not isinstance(target, bool) else str(target).lower()
        checked.append({"target": what, "goal": goal, "measured": value,
                        "met": {None: "not run", True: "yes", False: "NO"}[met]})
    return checked


def saturation(results: list[dict]) -> str | None:
    """The stream's highest rate that kept up and the lowest that did not (None without stream rows)."""
    rows = sorted((r for r in results if r["scenario"] == "stream"), key=lambda r: r["target_trades_per_s"])
    if not rows:
        return None
    kept = [r["target_trades_per_s"] for r in rows if r.get("keeps_up")]
    lost = [r["target_trades_per_s"] for r in rows if not r.get("keeps_up")]
    return (f"kept up to {max(kept):,} trades/s" if kept else "kept up at no rate tried") + \
        (f"; the backlog grew at {min(lost):,} trades/s" if lost else "; no rate tried saturated it")


def batch_curve(results: list[dict]) -> list[str]:
    """Seconds and peak memory per layer at each size: how the cost grows with the work."""
    rows = sorted((r for r in results if r["scenario"] == "batch" and r.get("completed")), key=lambda r: r["rows"])
    if not rows:
        return []
    layers = ["bronze", "silver", "bars_1m", "daily_gold", "duckdb_total"]
    head = "| layer | " + " | ".join(f"{r['rows'] / 1e6:g}M s | {r['rows'] / 1e6:g}M peak MiB" for r in rows)
    lines = ["**batch: cost per layer by size**", "", head + " |", "|---|" + "---|---|" * len(rows)]
    for layer in layers:
        cells = [f"{r.get(layer + '_s', '')} | {r.get(layer + '_peak_rss_mib', '')}" for r in rows]
        lines.append(f"| {layer} | " + " | ".join(cells) + " |")
    return lines + [""]


def _one_peak(row: dict) -> dict:
    """The table shows one peak memory per row, DuckDB's apart (the JSON keeps each layer's)."""
    peaks = [v for k, v in row.items() if k.endswith("_peak_rss_mib") and not k.startswith("duckdb")]
    kept = {k: v for k, v in row.items() if not k.endswith("_peak_rss_mib") or k.startswith("duckdb")}
    return kept | ({"peak_rss_mib": max(peaks)} if peaks else {})


def to_markdown(report: dict) -> str:
    machine = report["machine"]
    lines = [
        f"Measured {report['measured_at'][:16]} UTC on {machine['cores']} cores, {machine['memory_gib']} GiB "
        f"({machine['cpu']}), PySpark {machine['pyspark']}.",
        "",
    ]
    by_scenario: dict[str, list[dict]] = {}
    for row in report["results"]:
        by_scenario.setdefault(row["scenario"], []).append(row)
    for name, rows in by_scenario.items():
        rows = [_one_peak(r) for r in rows]
        columns = list(dict.fromkeys(c for r in rows for c in r if c != "scenario"))
        lines += [f"**{name}**", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(f"{r.get(c, '')}" for c in columns) + " |" for r in rows]
        lines.append("")
    lines += batch_curve(report["results"])
    lines += [f"**targets ({machine['cores']} cores)**", "", "| target | goal | measured | met |", "|---|---|---|---|"]
    lines += [f"| {t['target']} | {t['goal']} | {t['measured']} | {t['met']} |" for t in check_targets(report["results"])]
    if (where := saturation(report["results"])) is not None:
        lines += ["", f"Stream saturation: {where}."]
    for row in (r for r in report["results"] if r["scenario"] == "batch" and r.get("floor_over_duckdb")):
        lines += ["", f"Batch floor at {row['rows']:,} rows: a bare Delta write of the input "
                      f"({row['floor_delta_write_s']} s) plus the silver transform alone ({row['floor_silver_compute_s']} s) "
                      f"is {row['floor_over_duckdb']}x DuckDB's whole pipeline."]
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    app()
