"""The Keras 3 LSTM (TensorFlow backend, CPU): one global network over all tickers with
a learned ticker embedding, or one small network per ticker.

Two heads share the LSTM: the next-day return (trained on returns scaled to unit
variance, then rescaled inside the model) and the probability of an up move.
The ticker vocabulary travels with the saved model (`vocabulary.json`), so a
model scores exactly the tickers it was trained on; unknown tickers map to a
shared "other" embedding.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jobs.models.config import Network
from jobs.models.features import Samples

_CONFIGURED = False


PREDICT_BATCH = 8192


def cpu_threads(requested: int | None = None) -> int:
    """`requested` (the settings' tf_threads), else the cores this process may use (cgroup/affinity aware)."""
    if requested:
        return max(1, requested)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def keras_module(seed: int, threads: int | None = None):
    """Import Keras on TensorFlow with threads sized to the machine (or `threads`: TensorFlow takes them once per
    process), seed everything, return keras."""
    global _CONFIGURED
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if not _CONFIGURED:
        threads = cpu_threads(threads)
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
        except RuntimeError:
            pass  # TensorFlow already started in this process; it keeps its pools
        tf.config.experimental.enable_op_determinism()
        _CONFIGURED = True
    import keras

    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"pulselake models need the TensorFlow Keras backend, not {keras.backend.backend()!r}")
    keras.utils.set_random_seed(seed)
    return keras


def _network(keras, window: int, n_features: int, n_tickers: int, net: Network, x_train: np.ndarray, y_scale: float):
    inputs = {"window": keras.Input((window, n_features), name="window")}
    norm = keras.layers.Normalization(axis=-1, name="standardise")
    norm.adapt(x_train.reshape(-1, n_features))
    hidden = keras.layers.LSTM(net.units, dropout=net.dropout, name="lstm")(norm(inputs["window"]))
    if n_tickers:
        inputs["ticker"] = keras.Input((1,), dtype="int32", name="ticker")
        embedded = keras.layers.Embedding(n_tickers + 1, net.embedding_dim, name="ticker_embedding")(inputs["ticker"])
        hidden = keras.layers.Concatenate()([hidden, keras.layers.Flatten()(embedded)])
    hidden = keras.layers.Dense(16, activation="relu", name="dense")(hidden)
    scaled = keras.layers.Dense(1, name="scaled_return")(hidden)
    outputs = {
        "return": keras.layers.Rescaling(y_scale, name="return")(scaled),
        "up": keras.layers.Dense(1, activation="sigmoid", name="up")(hidden),
    }
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(net.learning_rate),
        loss={"return": "mse", "up": "binary_crossentropy"},
        # the return head's MSE is in squared returns; dividing by the scale trains it in unit variance
        loss_weights={"return": 1.0 / y_scale**2, "up": net.direction_loss_weight},
    )
    return model


@dataclass
class LstmPredictor:
    """A trained model (global) or models (per ticker) plus what scoring needs to use them."""

    net: Network
    window: int
    feature_names: tuple[str, ...]
    seed: int
    vocabulary: list[str] = field(default_factory=list)
    models: dict[str, object] = field(default_factory=dict)  # "global" or ticker -> keras.Model
    threads: int | None = None  # TensorFlow threads (None: the machine's cores)

    def _ids(self, tickers: np.ndarray) -> np.ndarray:
        index = {t: i + 1 for i, t in enumerate(self.vocabulary)}
        return np.array([index.get(t, 0) for t in tickers], dtype=np.int32)[:, None]

    def fit(self, train: Samples) -> "LstmPredictor":
        keras = keras_module(self.seed, self.threads)
        labelled = train.take(train.labelled)
        if not len(labelled):
            raise ValueError("no labelled samples to train on")
        groups = {"global": np.ones(len(labelled), bool)} if self.net.kind == "global" else {
            t: labelled.ticker == t for t in sorted(set(labelled.ticker))
        }
        self.vocabulary = sorted(set(labelled.ticker)) if self.net.kind == "global" else []
        for key, mask in groups.items():
            part = labelled.take(mask)
            y_scale = float(np.std(part.y)) or 0.01
            y = np.clip(part.y, -5 * y_scale, 5 * y_scale)  # bad prints must not steer the fit
            keras.utils.set_random_seed(self.seed)
            model = _network(keras, self.window, part.x.shape[2], len(self.vocabulary), self.net, part.x, y_scale)
            model.fit(self._inputs(part), {"return": y, "up": (part.y > 0).astype("float32")},
                      epochs=self.net.epochs, batch_size=self.net.batch_size, shuffle=True, verbose=0)
            self.models[key] = model
        return self

    def _inputs(self, samples: Samples) -> dict:
        inputs = {"window": samples.x}
        if self.net.kind == "global":
            inputs["ticker"] = self._ids(samples.ticker)
        return inputs

    def predict(self, samples: Samples) -> tuple[np.ndarray, np.ndarray]:
        """(predicted return, probability of an up move); NaN for tickers a per-ticker run never saw."""
        ret, up = np.full(len(samples), np.nan), np.full(len(samples), np.nan)
        if not len(samples):
            return ret, up
        groups = {"global": np.ones(len(samples), bool)} if self.net.kind == "global" else {
            t: samples.ticker == t for t in self.models
        }
        for key, mask in groups.items():
            if not mask.any():
                continue
            inputs, model = self._inputs(samples.take(mask)), self.models[key]
            # A live batch of a few windows: one call, no tf.data pipeline (predict() builds one per call, costs
            # the stream beside it CPU time and logs TensorFlow's dataset warnings)
            out = model.predict_on_batch(inputs) if mask.sum() <= PREDICT_BATCH else \
                model.predict(inputs, batch_size=PREDICT_BATCH, verbose=0)
            ret[mask], up[mask] = out["return"][:, 0], out["up"][:, 0]
        return ret, up

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for key, model in self.models.items():
            model.save(folder / f"{key}.keras")
        meta = {"network": self.net.model_dump(), "window": self.window, "feature_names": list(self.feature_names),
                "seed": self.seed, "vocabulary": self.vocabulary, "models": sorted(self.models)}
        (folder / "vocabulary.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, folder: Path, threads: int | None = None) -> "LstmPredictor":
        meta = json.loads((folder / "vocabulary.json").read_text())
        keras = keras_module(meta["seed"], threads)
        predictor = cls(Network(**meta["network"]), meta["window"], tuple(meta["feature_names"]), meta["seed"],
                        meta["vocabulary"], threads=threads)
        predictor.models = {key: keras.models.load_model(folder / f"{key}.keras") for key in meta["models"]}
        return predictor
