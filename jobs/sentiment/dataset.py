"""Labeled TSV files (header ``label<TAB>text``) and the shipped corpus split."""

from __future__ import annotations

import hashlib
from pathlib import Path

from jobs.sentiment.base import LABELS

CORPUS_DIR = Path(__file__).parent / "corpus"
TRAIN_FILE = CORPUS_DIR / "train.tsv"
HELDOUT_FILE = CORPUS_DIR / "heldout.tsv"


class DatasetError(ValueError):
    """A labeled file the commands cannot use; the message says where and why."""


def read_labeled(path: Path) -> tuple[list[str], list[str]]:
    """(labels, texts). Refuses, with the line number, anything that is not `label<TAB>text`."""
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].strip().lower() != "label\ttext":
        raise DatasetError(f"{path}: the first line must be the header 'label<TAB>text'")
    labels, texts = [], []
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        label, tab, text = line.partition("\t")
        label = label.strip().lower()
        if not tab or label not in LABELS or not text.strip():
            raise DatasetError(f"{path}:{number}: expected '<label>\\t<text>' with label one of {', '.join(LABELS)}")
        labels.append(label)
        texts.append(text.strip())
    if not labels:
        raise DatasetError(f"{path}: no labeled rows")
    return labels, texts


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
