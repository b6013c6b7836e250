"""What every pipeline step reports, so runs end with one honest summary."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Callable, TypeVar


@dataclass
class StepReport:
    step: str
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows written this step
    quarantined: dict[str, int] = field(default_factory=dict)  # reason -> rows
    warnings: dict[str, int] = field(default_factory=dict)  # warn rule -> rows kept but flagged
    skipped: list[str] = field(default_factory=list)  # what was already done (idempotent reruns)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add_written(self, result) -> None:
        """Count a commit's rows (a `Lake` CommitResult) under its table: a step may write a table many times.
        The rows the lake's rules sent to quarantine instead count under their reasons, as a step's own rejects do."""
        self.tables[result.table] = self.tables.get(result.table, 0) + result.rows
        self.add_quarantine(result.quarantined)

    def merge(self, other: "StepReport") -> None:
        """Add another report's counts, skips and notes to this one (a step made of several)."""
        for name, rows in other.tables.items():
            self.tables[name] = self.tables.get(name, 0) + rows
        self.add_quarantine(other.quarantined)
        for rule, rows in other.warnings.items():
            self.warnings[rule] = self.warnings.get(rule, 0) + rows
        self.skipped.extend(other.skipped)
        self.notes.extend(other.notes)

    def add_quarantine(self, counts: dict[str, int]) -> None:
        for reason, count in counts.items():
            self.quarantined[reason] = self.quarantined.get(reason, 0) + count

    def summary(self) -> str:
        """One line for logs: what it wrote, quarantined and skipped, how long it took, its notes."""
        return (f"{self.step}: wrote {self.tables or 'nothing'}; quarantined {self.quarantined or 'none'}; "
                f"skipped {len(self.skipped)}; {self.seconds:.1f} s" + "".join(f"; {n}" for n in self.notes))


Step = TypeVar("Step", bound=Callable[..., StepReport])


def timed(step: Step) -> Step:
    """Set the returned report's `seconds` to the step's wall time (every step, one place)."""

    @functools.wraps(step)
    def run(*args, **kwargs) -> StepReport:
        started = time.perf_counter()
        report = step(*args, **kwargs)
        report.seconds = round(time.perf_counter() - started, 2)
        return report

    return run  # type: ignore[return-value]
