"""`pulselake sentiment score | eval | train`: the fixed interface other tools rely on."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console

app = typer.Typer(help="Finance-aware sentiment: tickers, a score in [-1, 1], a label and a reason per post.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
err = Console(stderr=True)

SCORER_HELP = "minilm (default, offline), llm (OpenAI-compatible endpoint from LLM_BASE_URL/LLM_MODEL/LLM_API_KEY) or vader; default $PULSELAKE_SENTIMENT_SCORER or minilm"


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


def _scorer(name: Optional[str]):
    from jobs.sentiment.llm import LLMError
    from jobs.sentiment.registry import make_scorer

    try:
        return make_scorer(name)
    except (ValueError, LLMError, FileNotFoundError) as error:
        _fail(str(error))


def _read_posts(stream, chunk: int) -> Iterator[list]:
    from jobs.sentiment.base import Post

    batch: list[tuple[object, Post]] = []
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError) as error:  # also an integer of 4300+ digits, nesting past the limit
            _fail(f"stdin line {number} is not JSON ({getattr(error, 'msg', None) or type(error).__name__})")
        if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("text"), str):
            _fail(f'stdin line {number}: expected an object {{"id": ..., "text": "..."}}')
        batch.append((row["id"], Post(str(row["id"]), row["text"])))
        if len(batch) >= chunk:
            yield batch
            batch = []
    if batch:
        yield batch


@app.command()
def score(
    scorer: Optional[str] = typer.Option(None, "--scorer", help=SCORER_HELP),
    batch_size: int = typer.Option(256, min=1, help="posts scored together (memory vs. speed)"),
) -> None:
    """Read JSON lines {"id", "text"} on stdin; write JSON lines {"id", "tickers", "label", "score", "reason"} on stdout.

    A summary goes to stderr. Posts the LLM gave no valid answer for are written neutral with that reason;
    exit code 1 when that is every post, or when the endpoint keeps failing (rows already written stay)."""
    from jobs.sentiment.llm import LLMError

    engine = _scorer(scorer)
    failed = total = 0
    for batch in _read_posts(sys.stdin, batch_size):
        try:
            results = engine.score([post for _, post in batch])
        except LLMError as error:
            err.print(_summary(engine, total, failed), highlight=False, soft_wrap=True)
            _fail(str(error))
        for (raw_id, _), result in zip(batch, results):
            row = result.to_json()
            row["id"] = raw_id  # echo the id exactly as given (number or string)
            failed += int(bool(result.extra.get("failed")))
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        total += len(batch)
        sys.stdout.flush()
    err.print(_summary(engine, total, failed), highlight=False, soft_wrap=True)
    if failed and failed == total:
        _fail(f"no post got a valid answer from {engine.name}")
    if failed:
        err.print(f"[yellow]warning:[/yellow] {failed} posts got no valid answer; they are marked neutral with that reason")


def _summary(engine, total: int, failed: int) -> str:
    """One line: posts scored, and for the LLM scorer how the endpoint behaved."""
    line = f"scored {total} posts with {engine.name} ({engine.version})"
    stats = getattr(engine, "stats", None)
    if stats is not None and hasattr(stats, "http_retries"):
        line += (f": {stats.requests} requests, {stats.http_retries} HTTP retries, {stats.bad_responses} unusable "
                 f"answers, {stats.requeued} re-queued, {failed} without a valid answer")
    return line


@app.command(name="eval")
def eval_command(
    data: Path = typer.Option(..., "--data", help="TSV file with header 'label<TAB>text'; labels bullish/neutral/bearish"),
    scorer: Optional[str] = typer.Option(None, "--scorer", help=SCORER_HELP),
) -> None:
    """Score a labeled TSV; print accuracy, macro-F1 and the confusion matrix. The last line is
    exactly `macro_f1=<number> accuracy=<number> n=<count>`."""
    from jobs.sentiment.base import LABELS, Post
    from jobs.sentiment.dataset import DatasetError, read_labeled
    from jobs.sentiment.llm import LLMError
    from jobs.sentiment.metrics import evaluate

    try:
        truth, texts = read_labeled(data)
    except DatasetError as error:
        _fail(str(error))
    engine = _scorer(scorer)
    try:
        results = engine.score([Post(str(i), t) for i, t in enumerate(texts)])
    except LLMError as error:
        _fail(str(error))
    result = evaluate(truth, [r.label for r in results])
    print(f"scorer: {engine.name} ({engine.version})")
    print(f"data: {data} ({result.n} rows)")
    print(f"accuracy: {result.accuracy:.4f}")
    print(f"macro-F1: {result.macro_f1:.4f}  (" + ", ".join(f"{k} {v:.3f}" for k, v in result.per_label_f1.items()) + ")")
    print("confusion matrix (rows: true label, columns: predicted):")
    print(f"{'':>10}" + "".join(f"{p:>10}" for p in LABELS))
    for t in LABELS:
        print(f"{t:>10}" + "".join(f"{result.confusion[t][p]:>10}" for p in LABELS))
    print(result.last_line())


@app.command()
def train() -> None:
    """Rebuild the default head (jobs/sentiment/heads/minilm_head.*) from the corpus's training split."""
    from jobs.sentiment.dataset import DatasetError
    from jobs.sentiment.train import train_head

    try:
        with err.status("encoding the training split and fitting the head"):
            meta = train_head()
    except (DatasetError, ValueError, FileNotFoundError) as error:
        _fail(str(error))
    err.print(f"head {meta['version']} ({meta['weights_sha256'][:8]}) trained on {meta['train_rows']} sentences; "
              f"held-out macro-F1 {meta['heldout_macro_f1']:.4f} accuracy {meta['heldout_accuracy']:.4f} on {meta['heldout_rows']}")
