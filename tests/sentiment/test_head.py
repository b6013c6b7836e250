import numpy as np

from jobs.sentiment import head
from jobs.sentiment.dataset import HELDOUT_FILE, TRAIN_FILE, file_sha256


def test_fit_is_deterministic_and_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(c, 0.3, size=(30, 4)) for c in (-2, 0, 2)])
    y = np.repeat([0, 1, 2], 30)
    w1, b1 = head.fit(x, y, iterations=300)
    w2, b2 = head.fit(x, y, iterations=300)
    assert np.array_equal(w1, w2) and np.array_equal(b1, b2)
    assert ((x @ w1 + b1).argmax(axis=1) == y).mean() > 0.95


def test_committed_head_was_trained_on_the_committed_corpus():
    meta = head.load().meta
    assert meta["train_sha256"] == file_sha256(TRAIN_FILE)
    assert meta["heldout_sha256"] == file_sha256(HELDOUT_FILE)
    assert meta["heldout_macro_f1"] >= 0.80
    loaded = head.load()
    assert head.weights_digest(loaded.weights, loaded.bias) == meta["weights_sha256"]
