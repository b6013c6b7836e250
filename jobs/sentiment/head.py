"""The classifier head on top of the sentence embedding: multinomial logistic
regression in numpy (deterministic full-batch gradient descent, no extra
dependency), stored as a small versioned artifact committed in the repo."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jobs.sentiment.base import LABELS
from jobs.sentiment.cues import CUE_FEATURE_NAMES, cue_features

ARTIFACT_DIR = Path(__file__).parent / "heads"
ARTIFACT_STEM = "minilm_head"
HEAD_VERSION = "1"
# Fixed hyperparameters (chosen before looking at held-out results in detail; see corpus/README.md).
EMBEDDING_SCALE = 5.0
CUE_SCALE = 3.0
L2 = 1e-3
LEARNING_RATE = 0.5
ITERATIONS = 1500


def features(embeddings: np.ndarray, texts: list[str]) -> np.ndarray:
    cues = np.array([cue_features(t) for t in texts], dtype=np.float64).reshape(len(texts), len(CUE_FEATURE_NAMES))
    return np.hstack([embeddings.astype(np.float64) * EMBEDDING_SCALE, cues * CUE_SCALE])


def fit(x: np.ndarray, y: np.ndarray, l2: float = L2, iterations: int = ITERATIONS, lr: float = LEARNING_RATE) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression by full-batch gradient descent from zeros: same data, same weights."""
    n, k = x.shape[0], len(LABELS)
    weights, bias, onehot = np.zeros((x.shape[1], k)), np.zeros(k), np.eye(k)[y]
    for _ in range(iterations):
        grad = (softmax(x @ weights + bias) - onehot) / n
        weights -= lr * (x.T @ grad + l2 * weights)
        bias -= lr * grad.sum(axis=0)
    return weights, bias


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Head:
    weights: np.ndarray
    bias: np.ndarray
    meta: dict

    @property
    def version(self) -> str:
        return f"minilm-head-v{self.meta['version']}+{self.meta['weights_sha256'][:8]}"

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return softmax(x @ self.weights + self.bias)


def weights_digest(weights: np.ndarray, bias: np.ndarray) -> str:
    return hashlib.sha256(np.round(weights, 6).tobytes() + np.round(bias, 6).tobytes()).hexdigest()


def save(weights: np.ndarray, bias: np.ndarray, meta: dict, directory: Path = ARTIFACT_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    weights, bias = np.round(weights, 6).astype(np.float32), np.round(bias, 6).astype(np.float32)
    meta = {**meta, "version": HEAD_VERSION, "weights_sha256": weights_digest(weights.astype(np.float64), bias.astype(np.float64))}
    np.savez_compressed(directory / f"{ARTIFACT_STEM}.npz", weights=weights, bias=bias)
    (directory / f"{ARTIFACT_STEM}.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return directory / f"{ARTIFACT_STEM}.npz"


def load(directory: Path = ARTIFACT_DIR) -> Head:
    npz, meta_path = directory / f"{ARTIFACT_STEM}.npz", directory / f"{ARTIFACT_STEM}.json"
    if not npz.is_file() or not meta_path.is_file():
        raise FileNotFoundError(f"no trained head at {npz}; run `pulselake sentiment train`")
    with np.load(npz) as data:
        weights, bias = data["weights"].astype(np.float64), data["bias"].astype(np.float64)
    return Head(weights, bias, json.loads(meta_path.read_text(encoding="utf-8")))
