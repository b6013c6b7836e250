"""Nightly train-and-score time for the full universe (target: under 10 minutes on 2 cores).

Runs the nightly config's training step (walk-forward evaluation against every
baseline, final fit, save, register) and the scoring step on an existing lake
(build one with `make run` first). Training is forced so the number is real.

    .venv/bin/python -m bench.models_nightly [--lake-root lake] [--max-tickers N]
"""

from __future__ import annotations

import argparse
import time

from bench._common import machine, save, tree_cpu_seconds


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake-root", default=None)
    parser.add_argument("--max-tickers", type=int, default=None)
    args = parser.parse_args(argv)

    began = time.perf_counter()
    from jobs.cli import open_lake
    from jobs.models.pipeline import nightly_config, score, train_and_evaluate

    lake = open_lake(args.lake_root)
    spark_ready = time.perf_counter() - began
    config = nightly_config()
    if args.max_tickers:
        config.universe.max_tickers = args.max_tickers
    cpu_before, wall_before = tree_cpu_seconds(), time.perf_counter()
    trained = train_and_evaluate(lake, config, force=True)
    scored = score(lake, config.name)
    total = time.perf_counter() - began
    cpu = tree_cpu_seconds() - cpu_before
    wall = time.perf_counter() - wall_before
    result = {
        "config": config.model_dump(mode="json"), "spark_start_s": round(spark_ready, 1),
        "train_evaluate_s": trained.seconds, "score_s": scored.seconds, "total_s": round(total, 1),
        "train_and_score_wall_s": round(wall, 1), "train_and_score_cpu_s": round(cpu, 1),
        "train_notes": trained.notes, "score_notes": scored.notes, "predictions": scored.tables,
    }
    path = save("models_nightly" + (f"_{args.max_tickers}" if args.max_tickers else ""), result)
    print(f"train+evaluate {trained.seconds:.1f} s, score {scored.seconds:.1f} s (wall), {cpu:.1f} CPU s; total with "
          f"Spark start {total:.1f} s on {machine()['cpu_cores']} cores, load {machine()['load_average_at_end']} -> {path}")
    for note in trained.notes + scored.notes:
        print(" ", note)
    return result


if __name__ == "__main__":
    main()
