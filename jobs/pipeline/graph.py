"""The pipeline: every declared step, collected in the order the nightly runs them.

Each step is declared where its function is defined (`jobs.steps.step`: name, reads, writes, window, kind), in
its domain's `steps.py`; this module only lists them. `pulselake nightly` runs them in order (all but the live
ones), `pulselake step NAME` runs one, the Airflow DAGs are built from them (jobs/orchestration/flows.py),
`spark-submit jobs/backfill.py` runs the price steps and the freshness stream runs the live step beside its
micro-batches; `pulselake graph` prints it. Order between steps comes from the data: a step runs after every
earlier step that writes a table (or Kafka topic) it reads.

Importing the graph imports the step modules (pyspark's Python API, pandas, pyarrow: no JVM, no TensorFlow),
so an Airflow DAG file parses without starting Spark.
"""

from __future__ import annotations

from typing import Iterable

from jobs.gold_sentiment import steps as gold_sentiment
from jobs.models import steps as models
from jobs.prices import steps as prices
from jobs.reddit import steps as reddit
from jobs.rest import steps as rest
from jobs.sentiment import steps as sentiment
from jobs.steps import TOPIC, Step
from jobs.trades import steps as trades

__all__ = ["TOPIC", "Step", "STEPS", "NIGHTLY", "LIVE", "step", "upstream", "select", "topic_sinks", "mermaid"]

STEPS: tuple[Step, ...] = tuple(function.step for function in (
    prices.land, prices.bronze, prices.symbols, prices.silver, prices.gold,
    reddit.bronze_reddit, reddit.silver_reddit,
    sentiment.sentiment_step,
    rest.bronze_rest,
    trades.take_trades, trades.silver_trades,
    gold_sentiment.build,
    models.train_intraday, models.train_and_evaluate, models.score,
    models.score_live,
))
BY_NAME: dict[str, Step] = {step.name: step for step in STEPS}
NIGHTLY: tuple[Step, ...] = tuple(s for s in STEPS if not s.live)  # what `pulselake nightly` and the Airflow DAGs run
LIVE: tuple[Step, ...] = tuple(s for s in STEPS if s.live)  # what the freshness stream runs beside its micro-batches


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


def select(names: Iterable[str] | None = None, groups: Iterable[str] | None = None, reading_topics: bool = False,
           live: bool = False) -> list[Step]:
    """Steps in declared order, narrowed by name, group, or "reads a Kafka topic"; the stream's live steps only
    when `live` (or named)."""
    chosen = list(STEPS) if live or names is not None else list(NIGHTLY)
    if names is not None:
        wanted = list(names)
        for name in wanted:
            step(name)
        chosen = [s for s in chosen if s.name in wanted]
    if groups is not None:
        chosen = [s for s in chosen if s.group in set(groups)]
    if reading_topics:
        chosen = [s for s in chosen if any(r.startswith(TOPIC) for r in s.reads)]
    return chosen


def topic_sinks() -> list:
    """Every Kafka topic the lake takes, with its sink (bronze table and batch function), as the steps that take
    them declare: for lag reports and rebuilds."""
    return [sink for declared in STEPS for sink in declared.topic_sinks()]


def mermaid() -> str:
    """The graph as a Mermaid flowchart: one node per step (windowed steps marked), a rounded node per Kafka topic
    a step takes, an arrow from each step (or topic) to every step that reads what it writes."""
    def node(item: Step) -> str:
        label = item.name + (" ⟨window⟩" if item.windowed else "") + (" ⟨stream⟩" if item.live else "")
        return f'{item.task_id}["{label}"]'

    def topic_node(name: str) -> str:
        return f'{name.replace(".", "_")}("{name}")'

    lines = ["flowchart LR"]
    for item in STEPS:
        before = upstream(item)
        topics = [read.removeprefix(TOPIC) for read in item.reads if read.startswith(TOPIC)]
        if not before and not topics:
            lines.append(f"    {node(item)}")
        lines.extend(f"    {topic_node(t)} --> {node(item)}" for t in topics)
        lines.extend(f"    {node(b)} --> {node(item)}" for b in before)
    return "\n".join(lines)
