"""The pipeline, declared once: every step with what it reads and writes, and whether it takes a window.

`pulselake nightly` runs these steps in order (all but the live ones), `pulselake step NAME` runs one, the
Airflow DAGs are built from them (jobs/orchestration/flows.py), `spark-submit jobs/backfill.py` runs the price
steps and the freshness stream runs the live step beside its micro-batches; `pulselake graph` prints it. Order between steps comes from the data: a step runs after every earlier
step that writes a table (or Kafka topic) it reads.

Functions are named by dotted path and imported only when a step runs, so reading the graph (an Airflow
DAG file being parsed, `pulselake graph`) imports no Spark, TensorFlow or pipeline code. Every function
is called as `function(lake, window, **options)` and returns a `StepReport`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Iterable

TOPIC = "kafka:"  # reads/writes that start with this are Kafka topics (jobs.ingest.topics names), not tables


@dataclass(frozen=True)
class Step:
    name: str  # "<group>.<what>", e.g. "prices.silver"
    function: str  # "module:function", called as function(lake, window, **options)
    reads: tuple[str, ...]  # lake_schema table names, or "kafka:<topic>"
    writes: tuple[str, ...]
    windowed: bool  # True: rebuilds exactly the window's dates; False: takes what is new ("latest") whatever the window
    description: str
    collector: bool = False  # fetches from a source (the embedded replay servers) into Kafka: `pulselake nightly` only
    live: bool = False  # the freshness stream runs it beside its micro-batches (`pulselake stream`); the nightly does not
    options: tuple[str, ...] = ()  # keyword options the function accepts (e.g. price_files)

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def task_id(self) -> str:
        return self.name.replace(".", "__")

    def resolve(self) -> Callable:
        module, _, attribute = self.function.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def run(self, lake, window, **options):
        """Run the step for `window` (a step that takes none reads only what is new), passing the options it takes."""
        wanted = {k: v for k, v in options.items() if k in self.options and v is not None}
        return self.resolve()(lake, window, **wanted)


def _topic(name: str) -> str:
    return TOPIC + name


STEPS: tuple[Step, ...] = (
    Step("prices.land", "jobs.prices.pipeline:land", (), ("landing.daily_bar_lines",), True,
         "land the bundled (or given) daily bar files, each file once, into the partition of the run's day",
         options=("price_files",)),
    Step("prices.bronze", "jobs.prices.pipeline:bronze", ("landing.daily_bar_lines",),
         ("bronze.daily_bars", "bronze.quarantine"), True,
         "parse every landing batch landed by the run's day that grew since bronze saw it"),
    Step("prices.symbols", "jobs.prices.pipeline:symbols", (), ("silver.symbols",), False,
         "the symbols reference (sector, exchange) from the bundled metadata"),
    Step("prices.silver", "jobs.prices.pipeline:silver", ("bronze.daily_bars", "silver.symbols"),
         ("silver.daily_bars", "bronze.quarantine"), True,
         "validate and deduplicate the window's months of daily bars"),
    Step("prices.gold", "jobs.prices.pipeline:gold", ("silver.daily_bars", "silver.symbols"),
         ("gold.daily_features",), True, "daily features for the window's months"),
    Step("reddit.collect", "jobs.reddit.pipeline:collect_replay_corpus", (),
         (_topic("reddit.posts"), _topic("reddit.comments")), False,
         "the embedded Reddit server's corpus -> Kafka (praw over loopback)", collector=True),
    Step("reddit.bronze", "jobs.reddit.pipeline:bronze_reddit", (_topic("reddit.posts"), _topic("reddit.comments")),
         ("bronze.reddit_posts", "bronze.reddit_comments", "bronze.quarantine"), False,
         "every Reddit record in Kafka that bronze has not taken yet"),
    Step("reddit.silver", "jobs.reddit.pipeline:silver_reddit", ("bronze.reddit_posts", "bronze.reddit_comments"),
         ("silver.reddit_posts", "silver.reddit_comments", "bronze.quarantine"), True,
         "merge the window's posts and comments into one current row each"),
    Step("sentiment.score", "jobs.sentiment.spark_job:sentiment_step", ("silver.reddit_posts", "silver.reddit_comments"),
         ("silver.post_sentiment",), True, "score the window's posts and comments per ticker (default scorer)"),
    Step("trades.collect", "jobs.trades.pipeline:collect_replay_trades", (), (_topic("finnhub.trades"),), False,
         "a bundled trading day -> Kafka (Finnhub websocket over loopback)", collector=True),
    Step("rest.collect", "jobs.ingest.rest_answers:collect_replay_rest", (),
         (_topic("finnhub.quotes"), _topic("finnhub.profiles"), _topic("finnhub.candles")), False,
         "quotes, profiles and candles -> Kafka (Finnhub REST over loopback)", collector=True),
    Step("rest.bronze", "jobs.ingest.rest_answers:bronze_rest",
         (_topic("finnhub.quotes"), _topic("finnhub.profiles"), _topic("finnhub.candles")),
         ("bronze.finnhub_quotes", "bronze.finnhub_profiles", "bronze.finnhub_candles", "bronze.quarantine"), False,
         "every Finnhub REST answer in Kafka that bronze has not taken yet"),
    Step("trades.bronze", "jobs.stream.batch:take_trades", (_topic("finnhub.trades"),),
         ("bronze.trades", "silver.trades", "silver.bars_1m", "bronze.quarantine"), False,
         "every trade in Kafka not taken yet -> bronze, silver and 1-minute bars (the stream's checkpoint)"),
    Step("trades.closed_days", "jobs.trades.pipeline:silver_trades", ("bronze.trades",),
         ("silver.trades", "silver.bars_1m", "gold.trade_daily_bars", "bronze.quarantine"), True,
         "rebuild the window's closed trading days whose bronze grew"),
    Step("gold.sentiment", "jobs.gold_sentiment.pipeline:build",
         ("silver.post_sentiment", "silver.reddit_posts", "silver.reddit_comments", "bronze.reddit_posts",
          "silver.daily_bars", "silver.bars_1m"),
         ("gold.sentiment_daily", "gold.sentiment_daily_subreddit", "gold.post_price_windows", "gold.sentiment_lead_lag"),
         True, "daily sentiment, post price windows for the window's months; lead-lag over all days"),
    Step("models.intraday_train", "jobs.models.intraday_pipeline:train_intraday",
         ("silver.bars_1m", "gold.sentiment_daily"), ("gold.model_runs",), True,
         "walk-forward train + evaluate the intraday model on 1-minute bars to the window's end, register"),
    Step("models.train", "jobs.models.pipeline:train_and_evaluate", ("gold.daily_features", "gold.sentiment_daily"),
         ("gold.model_runs",), True, "walk-forward train + evaluate on data to the window's end, register"),
    Step("models.score", "jobs.models.pipeline:score", ("gold.model_runs", "gold.daily_features", "gold.sentiment_daily"),
         ("gold.predictions",), True, "predict the day after the window's last trading day"),
    Step("models.live", "jobs.models.live:score_live", ("silver.bars_1m", "gold.model_runs", "gold.sentiment_daily"),
         ("gold.live_predictions", "gold.live_scorecard"), False,
         "predict the next minutes for symbols whose bars moved (newest intraday model); judge arrived outcomes",
         live=True),
)

BY_NAME: dict[str, Step] = {step.name: step for step in STEPS}
NIGHTLY: tuple[Step, ...] = tuple(s for s in STEPS if not s.live)  # what `pulselake nightly` and the Airflow DAGs run


def step(name: str) -> Step:
    if name not in BY_NAME:
        raise KeyError(f"no step {name!r}; steps: {', '.join(BY_NAME)}")
    return BY_NAME[name]


def upstream(target: Step, steps: Iterable[Step] = STEPS) -> list[Step]:
    """The earlier steps `target` waits on: those writing something it reads (steps are declared in a valid order)."""
    before = []
    for candidate in steps:
        if candidate.name == target.name:
            break
        if set(candidate.writes) & set(target.reads):
            before.append(candidate)
    return before


def select(names: Iterable[str] | None = None, groups: Iterable[str] | None = None, collectors: bool = True,
           reading_topics: bool = False, live: bool = False) -> list[Step]:
    """Steps in declared order, narrowed by name, group, collector-ness, or "reads a Kafka topic"; the stream's
    live steps only when `live` (or named)."""
    chosen = list(STEPS) if live or names is not None else list(NIGHTLY)
    if names is not None:
        wanted = list(names)
        for name in wanted:
            step(name)
        chosen = [s for s in chosen if s.name in wanted]
    if groups is not None:
        chosen = [s for s in chosen if s.group in set(groups)]
    if not collectors:
        chosen = [s for s in chosen if not s.collector]
    if reading_topics:
        chosen = [s for s in chosen if any(r.startswith(TOPIC) for r in s.reads)]
    return chosen


def mermaid() -> str:
    """The graph as a Mermaid flowchart: one node per step (collectors as rounded ones, windowed steps marked),
    an arrow from each step to every step that reads what it writes."""
    def node(item: Step) -> str:
        label = item.name + (" ⟨window⟩" if item.windowed else "") + (" ⟨stream⟩" if item.live else "")
        return f'{item.task_id}("{label}")' if item.collector else f'{item.task_id}["{label}"]'

    lines = ["flowchart LR"]
    for item in STEPS:
        before = upstream(item)
        if not before:
            lines.append(f"    {node(item)}")
        lines.extend(f"    {node(b)} --> {node(item)}" for b in before)
    return "\n".join(lines)
