"""A pipeline step's declaration and what every step reports.

A step is a function `step(lake, window, **options) -> StepReport`, declared where it is defined with the `step`
decorator: its name, the tables (and Kafka topics) it reads and writes, whether it rebuilds a window, and
whether it is a stream step (or a local replay source, jobs/local/sources.py). jobs/pipeline/graph.py only collects
the declared steps.
"""

from __future__ import annotations

import functools
import inspect
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, TypeVar

TOPIC = "kafka:"  # reads/writes that start with this are Kafka topics (jobs.ingest.topics names), not tables
Kind = Literal["nightly", "source", "live"]


@dataclass
class StepReport:
    step: str
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows written this step
    quarantined: dict[str, int] = field(default_factory=dict)  # reason -> rows
    warnings: dict[str, int] = field(default_factory=dict)  # warn rule -> rows kept but flagged
    skipped: list[str] = field(default_factory=list)  # what was already done (idempotent reruns)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    tables_read: set[str] = field(default_factory=set)  # what the lake was asked to read and write while the step
    tables_written: set[str] = field(default_factory=set)  # ran alone (jobs.pipeline.run), against its declaration

    def add_written(self, result) -> None:
        """Count a commit's rows (a `Lake` CommitResult) under its table: a step may write a table many times.
        The rows the lake's rules sent to quarantine instead count under their reasons, as a step's own rejects do,
        and the rows it kept that break a "warn" rule under the rule."""
        self.tables[result.table] = self.tables.get(result.table, 0) + result.rows
        self.add_quarantine(result.quarantined)
        for rule, rows in result.warnings.items():
            self.warnings[rule] = self.warnings.get(rule, 0) + rows

    def merge(self, other: "StepReport") -> None:
        """Add another report's counts, skips and notes to this one (a step made of several)."""
        for name, rows in other.tables.items():
            self.tables[name] = self.tables.get(name, 0) + rows
        self.add_quarantine(other.quarantined)
        for rule, rows in other.warnings.items():
            self.warnings[rule] = self.warnings.get(rule, 0) + rows
        self.skipped.extend(other.skipped)
        self.notes.extend(other.notes)
        self.tables_read |= other.tables_read
        self.tables_written |= other.tables_written

    def add_quarantine(self, counts: dict[str, int]) -> None:
        for reason, count in counts.items():
            self.quarantined[reason] = self.quarantined.get(reason, 0) + count

    def summary(self) -> str:
        """One line for logs: what it wrote, quarantined and skipped, how long it took, its notes."""
        return (f"{self.step}: wrote {self.tables or 'nothing'}; quarantined {self.quarantined or 'none'}; "
                f"skipped {len(self.skipped)}; {self.seconds:.1f} s" + "".join(f"; {n}" for n in self.notes))


StepFunction = TypeVar("StepFunction", bound=Callable[..., StepReport])


def timed(step: StepFunction) -> StepFunction:
    """Set the returned report's `seconds` to the step's wall time (every step, one place)."""

    @functools.wraps(step)
    def run(*args, **kwargs) -> StepReport:
        started = time.perf_counter()
        report = step(*args, **kwargs)
        report.seconds = round(time.perf_counter() - started, 2)
        return report

    return run  # type: ignore[return-value]


def topic(name: str) -> str:
    """A Kafka topic as a step's read or write."""
    return TOPIC + name


@dataclass(frozen=True)
class Step:
    name: str  # "<group>.<what>", e.g. "prices.silver"
    function: Callable[..., StepReport]  # called as function(lake, window, **options)
    reads: tuple[str, ...]  # lake_schema table names, or "kafka:<topic>"
    writes: tuple[str, ...]
    windowed: bool  # True: rebuilds exactly the window's dates; False: takes what is new ("latest") whatever the window
    description: str
    kind: Kind = "nightly"  # "live": the stream runs it beside its batches; "source": a local replay into Kafka
    sinks: Callable[[], tuple[Any, ...]] | None = None  # builds its jobs.ingest.consume.TopicSinks: the Kafka topics it takes

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def task_id(self) -> str:
        return self.name.replace(".", "__")

    @property
    def source(self) -> bool:
        return self.kind == "source"

    @property
    def live(self) -> bool:
        return self.kind == "live"

    def topic_sinks(self) -> tuple[Any, ...]:
        """The Kafka topics this step takes into bronze, each with its table and batch function (built on demand:
        they import Spark)."""
        return self.sinks() if self.sinks else ()

    @property
    def options(self) -> tuple[str, ...]:
        """The keyword options the function takes after (lake, window)."""
        return tuple(list(inspect.signature(self.function).parameters)[2:])

    def run(self, lake, window, **options) -> StepReport:
        """Run the step for `window` (a step that takes none reads only what is new), passing the options it takes."""
        wanted = {k: v for k, v in options.items() if k in self.options and v is not None}
        return self.function(lake, window, **wanted)


def _names(items: Iterable[Any]) -> tuple[str, ...]:
    return tuple(item if isinstance(item, str) else item.name for item in items)  # a TableSpec has its name


def step(name: str, *, reads: Iterable[Any] = (), writes: Iterable[Any] = (), windowed: bool, description: str,
         kind: Kind = "nightly", sinks: Callable[[], tuple[Any, ...]] | None = None
         ) -> Callable[[StepFunction], StepFunction]:
    """Declare the decorated function a pipeline step (tables as lake_schema specs, topics as `topic(name)`);
    the function is returned unchanged, with its declaration as `.step`. A step that takes Kafka topics into
    bronze names the function that builds its sinks (their topics and tables are among its reads and writes)."""
    def declare(function: StepFunction) -> StepFunction:
        function.step = Step(name, function, _names(reads), _names(writes), windowed, description, kind,
                             sinks)  # type: ignore[attr-defined]
        return function

    return declare
