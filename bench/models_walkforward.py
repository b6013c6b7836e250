"""Out-of-sample walk-forward results on the bundled data: the LSTM beside every baseline.

    .venv/bin/python -m bench.models_walkforward [--lake-root lake] [config ...]

Default configs: sp500_global (524 tickers 2009-2010), long5_global and long5_per_ticker
(AAPL, IBM, MSFT, GOOG, FB 2000-2013), sp500_global_20 vs sp500_per_ticker_20 (the same 20 tickers).
"""

from __future__ import annotations

import argparse
import time

from bench._common import RESULTS, save

DEFAULT = ["sp500_global", "long5_global", "long5_per_ticker", "sp500_global_20", "sp500_per_ticker_20"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", default=DEFAULT)
    parser.add_argument("--lake-root", default=None)
    args = parser.parse_args(argv)

    from jobs.cli.common import started_lake
    from jobs.models.config import load_config
    from jobs.models.daily_inputs import load_samples
    from jobs.models.walkforward import format_metrics, walk_forward

    lake = started_lake(args.lake_root)
    for name in args.configs:
        config = load_config(name)
        began = time.perf_counter()
        frame, samples = load_samples(lake, config)
        result = walk_forward(samples, config, on_fold=lambda i, n: print(f"  {name}: fold {i}/{n}", flush=True))
        seconds = round(time.perf_counter() - began, 1)
        table = format_metrics(result.metrics)
        header = (f"{name}: {frame.ticker.nunique()} tickers, {frame.trade_date.min().date()}..{frame.trade_date.max().date()}, "
                  f"{len(result.folds)} folds (retrain every {config.walk_forward.retrain_every} days), "
                  f"out of sample {result.folds[0].test_start}..{result.folds[-1].test_end}, {seconds} s")
        save(f"walkforward_{name}", {"config": config.model_dump(mode="json"), "summary": header, "seconds": seconds,
                                     "metrics": result.metrics, "folds": [f.__dict__ for f in result.folds]})
        (RESULTS / f"walkforward_{name}.md").write_text(f"{header}\n\n{table}\n")
        print(header)
        print(table, flush=True)


if __name__ == "__main__":
    main()
