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
from rich.table import Table

RESULTS = Path(__file__).parent / "results"
SCENARIOS = ["lake_io", "batch", "incremental", "stream"]
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
console = Console(stderr=True)


def _parse_size(text: str) -> int:
    text = text.strip().upper()
    factor = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * factor)


@app.command()
def main(
    scenario: Optional[list[str]] = typer.Option(None, help=f"scenarios to run (default: all of {SCENARIOS})"),
    sizes: str = typer.Option("1M,10M", help="row counts for the batch and lake_io scenarios, e.g. 1M,10M,100M"),
    workdir: Optional[Path] = typer.Option(None, help="scratch folder (default: a temporary one)"),
) -> None:
    """Run benchmarks on this machine and record the numbers with the machine they came from."""
    from bench.machine import describe
    from jobs.resources.spark import get_spark
    from jobs.settings import Settings

    chosen = scenario or SCENARIOS
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        raise typer.BadParameter(f"unknown scenarios {unknown}; choose from {SCENARIOS}")
    row_counts = [_parse_size(s) for s in sizes.split(",")]
    spark = get_spark(Settings(spark_master="local[*]", spark_driver_memory="8g"), "pulselake-bench")
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="pulselake-bench-") as scratch:
        base = workdir or Path(scratch)
        warm_up(spark, base / "warm-up")
        for name in chosen:
            console.print(f"[bold]scenario {name}[/bold] sizes={row_counts}")
            started = time.perf_counter()
            module = importlib.import_module(f"bench.scenarios.{name}")
            for row in module.run(spark, base, row_counts):
                results.append(row)
                console.print(row)
            console.print(f"  {name} took {time.perf_counter() - started:.0f} s")
    report = {"measured_at": datetime.now(timezone.utc).isoformat(), "machine": describe(), "results": results}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
    (RESULTS / "latest.md").write_text(to_markdown(report))
    console.print(f"wrote {RESULTS / 'latest.json'} and {RESULTS / 'latest.md'}")


def warm_up(spark, folder: Path) -> None:
    """Start the Python workers and JIT both write paths once, so no scenario pays start-up."""
    from bench.synthetic import synthetic_bronze_trades
    from jobs.resources.lake import Lake
    from jobs.settings import Settings
    from lake_schema.trades import BRONZE_TRADES

    data = synthetic_bronze_trades(spark, 10_000)
    lake = Lake(spark, Settings(lake_root=str(folder / "lake"), spark_master=spark.sparkContext.master))
    lake.append(BRONZE_TRADES, data)
    lake.read(BRONZE_TRADES).count()
    data.write.mode("overwrite").parquet(str(folder / "parquet"))
    spark.read.parquet(str(folder / "parquet")).count()


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
        columns = [c for c in rows[0] if c != "scenario"]
        lines += [f"**{name}**", "", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(f"{r.get(c, '')}" for c in columns) + " |" for r in rows]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    app()
