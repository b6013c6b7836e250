"""The Keras/TensorFlow MiniLM encoder gives sentence-transformers' embeddings (fixture made with it on torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jobs.sentiment.encoder import DIM, encode, load_encoder, model_dir

FIXTURE = Path(__file__).parent / "fixtures" / "minilm_reference.npz"


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], np.ndarray]:
    with np.load(FIXTURE) as data:
        return [str(t) for t in data["texts"]], data["embeddings"]


def test_embeddings_match_sentence_transformers_for_every_sentence(reference):
    texts, expected = reference
    got = encode(texts, batch_size=32)
    assert got.shape == (len(texts), DIM) == expected.shape and got.dtype == np.float32
    cosine = (got * expected).sum(axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(expected, axis=1))
    worst = int(cosine.argmin())
    assert cosine.min() >= 0.999, (f"min cosine {cosine.min():.6f} on {texts[worst][:80]!r}")
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_fixture_covers_truncation_and_odd_texts(reference):
    texts, _ = reference
    tokenizer = load_encoder().tokenizer
    tokenizer_lengths = [len(e.ids) for e in tokenizer.encode_batch(texts)]
    assert sum(n == 256 for n in tokenizer_lengths) >= 3  # several posts over 256 word pieces, cut there
    assert "" in texts and any("🚀" in t for t in texts) and len(texts) >= 250


def test_order_batching_and_empty_input():
    texts = ["$TSLA puts printing", "bears getting wrecked on NVDA " * 40, "", "Apple beat estimates."]
    together = encode(texts, batch_size=2)
    alone = np.vstack([encode([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)  # sorting and padding inside batches change nothing
    assert together.shape == (4, DIM) and together.dtype == np.float32
    empty = encode([])
    assert empty.shape == (0, DIM) and empty.dtype == np.float32


def test_model_folder_is_the_wheels():
    folder = model_dir()
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
