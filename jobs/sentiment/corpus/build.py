"""Expand the hand-written templates and sentences into the labeled corpus, reproducibly.

The split is made BEFORE expansion and by whole source line: a template (or a
hand-written sentence) goes entirely to train or entirely to held-out, chosen
by a hash of its text. Slot fills alone never make a held-out sentence look new
to the head. Run ``python -m jobs.sentiment.corpus.build`` to rewrite
``train.tsv``, ``heldout.tsv`` and ``manifest.json`` (byte-identical each time).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
LABELS = ("bearish", "neutral", "bullish")
SEED = 20240604
HELDOUT_SHARE = 0.25  # of source lines (templates and sentences), chosen by hash
TRAIN_VARIANTS = 10
HELDOUT_VARIANTS = 5

# (cashtag, ticker, names...) for slot fills: a mix of mega caps, meme stocks and old-economy names.
STOCKS = [
    ("AAPL", "Apple"), ("MSFT", "Microsoft"), ("NVDA", "Nvidia"), ("TSLA", "Tesla"), ("AMZN", "Amazon"),
    ("GOOGL", "Alphabet"), ("META", "Meta"), ("AMD", "AMD"), ("INTC", "Intel"), ("NFLX", "Netflix"),
    ("DIS", "Disney"), ("BA", "Boeing"), ("JPM", "JPMorgan"), ("GME", "GameStop"), ("AMC", "AMC"),
    ("PLTR", "Palantir"), ("F", "Ford"), ("GE", "General Electric"), ("XOM", "Exxon"), ("PFE", "Pfizer"),
    ("KO", "Coca-Cola"), ("WMT", "Walmart"), ("NKE", "Nike"), ("SBUX", "Starbucks"), ("BAC", "Bank of America"),
    ("COIN", "Coinbase"), ("UBER", "Uber"), ("SNAP", "Snap"), ("CAT", "Caterpillar"), ("HD", "Home Depot"),
    ("CSCO", "Cisco"), ("ORCL", "Oracle"), ("IBM", "IBM"), ("GS", "Goldman Sachs"), ("MRK", "Merck"),
]
NEWS_PREFIXES = ["", "", "", "", "UPDATE: ", "BREAKING: ", "(Reuters) - ", "Markets: "]
FORUM_PREFIXES = ["", "", "", "", "ok so ", "Honestly, ", "Update: ", "PSA: ", "ngl "]
FORUM_SUFFIXES = ["", "", "", "", " tbh", " fwiw", "!", " .", " (not financial advice)"]
QUARTERS = ["Q1", "Q2", "Q3", "Q4", "the first quarter", "the second quarter", "the third quarter", "the fourth quarter"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "May 2", "July 24", "October 30", "February 6"]
ORDINALS = ["second", "third", "fourth", "fifth", "sixth"]
SLOT = re.compile(r"\{(T2|T|N|PX|Q|STRIKE|DAY|B|M|ORD)\}")


@dataclass(frozen=True)
class Source:
    label: str
    text: str
    style: str  # news | forum
    kind: str  # template | sentence

    @property
    def heldout(self) -> bool:
        digest = hashlib.sha256(f"{self.kind}:{self.text}".encode()).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < HELDOUT_SHARE


def read_sources(path: Path, kind: str) -> list[Source]:
    sources, style = [], "news"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("# style:"):
            style = line.split(":", 1)[1].strip()
            continue
        if not line.strip() or line.startswith("#"):
            continue
        label, _, text = line.partition("\t")
        if label not in LABELS or not text.strip():
            raise ValueError(f"{path.name}:{number}: expected '<label>\\t<text>' with label in {LABELS}")
        sources.append(Source(label, text.strip(), style, kind))
    return sources


def _mention(rng: random.Random, stock: tuple[str, str], style: str) -> str:
    ticker, name = stock
    forms = [name, ticker, name] if style == "news" else [f"${ticker}", ticker, name, f"${ticker}"]
    return rng.choice(forms)


def fill(template: str, style: str, rng: random.Random) -> str:
    first, second = rng.sample(STOCKS, 2)
    values = {
        "T": lambda: _mention(rng, first, style),
        "T2": lambda: _mention(rng, second, style),
        "N": lambda: str(rng.randint(2, 38)),
        "PX": lambda: str(rng.choice([rng.randint(5, 60), rng.randint(60, 400), rng.randint(400, 1200)])),
        "Q": lambda: rng.choice(QUARTERS),
        "STRIKE": lambda: str(rng.choice([5, 10, 25, 50, 100, 150, 200, 250, 300, 420, 500])),
        "DAY": lambda: rng.choice(DAYS),
        "B": lambda: str(rng.randint(1, 60)),
        "M": lambda: str(rng.randint(1, 25)),
        "ORD": lambda: rng.choice(ORDINALS),
    }
    text = SLOT.sub(lambda m: values[m.group(1)](), template)
    if style == "news":
        return rng.choice(NEWS_PREFIXES) + text
    suffix = rng.choice(FORUM_SUFFIXES)
    if text[-1] in "?!." and suffix in ("!", " ."):
        suffix = ""
    text = rng.choice(FORUM_PREFIXES) + text + suffix
    return text.lower() if rng.random() < 0.25 else text


def build() -> dict[str, list[tuple[str, str]]]:
    rng = random.Random(SEED)
    templates = read_sources(HERE / "templates.tsv", "template")
    sentences = read_sources(HERE / "sentences.tsv", "sentence")
    splits: dict[str, list[tuple[str, str]]] = {"train": [], "heldout": []}
    seen: set[str] = set()
    for source in templates + sentences:
        split = "heldout" if source.heldout else "train"
        if source.kind == "sentence":
            variants = [source.text]
        else:
            wanted = HELDOUT_VARIANTS if source.heldout else TRAIN_VARIANTS
            variants = []
            for _ in range(wanted * 4):
                text = fill(source.text, source.style, rng)
                if text not in seen and text not in variants:
                    variants.append(text)
                if len(variants) == wanted:
                    break
        for text in variants:
            if text in seen:
                continue
            seen.add(text)
            splits[split].append((source.label, text))
    return splits


def write(splits: dict[str, list[tuple[str, str]]]) -> dict:
    manifest: dict = {"seed": SEED, "heldout_share_of_sources": HELDOUT_SHARE, "files": {}}
    for split, rows in splits.items():
        body = "label\ttext\n" + "".join(f"{label}\t{text}\n" for label, text in rows)
        path = HERE / f"{split}.tsv"
        path.write_text(body, encoding="utf-8")
        counts = {label: sum(1 for lab, _ in rows if lab == label) for label in LABELS}
        manifest["files"][path.name] = {"rows": len(rows), "labels": counts, "sha256": hashlib.sha256(body.encode()).hexdigest()}
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


if __name__ == "__main__":
    print(json.dumps(write(build()), indent=2))
