"""What truncating or quantising the vectors does to each document's neighbours (Qt-free).

Variants of an embedding set, each compared with the full float32 space by the k-NN
lists of the same documents:

- **truncated** to the first m dimensions and renormalised (Matryoshka representation
  learning, Kusupati et al., NeurIPS 2022: models trained for it keep their neighbours
  at small m; others lose them);
- **int8**: each dimension mapped onto 256 levels between its minimum and maximum over the
  set (the calibration of sentence-transformers' ``quantize_embeddings``), searched by the
  inner product of the codes;
- **binary**: one bit per dimension (x > 0), searched by Hamming distance (computed as the
  inner product of ±1 vectors, which ranks identically);
- quantised variants **with rescoring**: the quantised search returns ``rescore × k``
  candidates, re-ranked by float32 cosine (Shakir, Aarsen & Lee, "Binary and Scalar
  Embedding Quantization", Hugging Face 2024).

Per document: Jaccard of the two k-NN sets and recall@k (|A ∩ B| / k). Above
``sample`` documents, a seeded sample of documents is evaluated (all rows are searched).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.duplicates import distinct_rows
from core.knn import QueryIndex, overlap_counts
from core.plugin_api import AnalysisData, CacheableResult
from core.progress import Progress
from core.sampling import seeded_rows

QUANTISATIONS = ("int8", "binary")
BLOCK_CELLS = 32_000_000  # scores held at once by a quantised search (float64 keys: 256 MB)


@dataclass(frozen=True)
class RobustnessParams:
    """k of the compared lists, the truncation ladder, quantisations and the evaluated sample."""

    k: int = 10
    dims: tuple[int, ...] = (256, 128, 64, 32)
    quantisations: tuple[str, ...] = QUANTISATIONS
    rescore: int = 4
    sample: int = 5_000
    random_state: int = 0


@dataclass(frozen=True)
class Variant:
    """One compressed form of the vectors and how well it keeps the neighbours."""

    name: str
    bytes_per_vector: float
    jaccard: float
    recall: float
    search_ms: float  # per query document, all rows searched


@dataclass(frozen=True)
class RobustnessResult(CacheableResult):
    """Variants (float32 first) and per-row Jaccard of each (NaN for rows not evaluated)."""

    variants: tuple[Variant, ...]
    per_row: np.ndarray  # (n_variants, n) float32
    rows: np.ndarray  # evaluated rows
    k: int

    def variant(self, name: str) -> int:
        return [v.name for v in self.variants].index(name)

    def as_dict(self) -> dict:
        return {"k": self.k, "evaluated": int(self.rows.size), "n": int(self.per_row.shape[1]),
                "variants": [vars(v) for v in self.variants]}

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"names": np.array([v.name for v in self.variants]),
                "numbers": np.array([[v.bytes_per_vector, v.jaccard, v.recall, v.search_ms] for v in self.variants]),
                "per_row": self.per_row, "rows": self.rows, "k": np.asarray(self.k)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> RobustnessResult:
        variants = tuple(Variant(str(name), *map(float, numbers))
                         for name, numbers in zip(arrays["names"], arrays["numbers"]))
        return cls(variants, arrays["per_row"], arrays["rows"], int(arrays["k"]))


def int8_codes(vectors: np.ndarray) -> np.ndarray:
    """Per-dimension min-max calibration onto −128…127 (as ``quantize_embeddings(precision="int8")``)."""
    lo, hi = vectors.min(axis=0), vectors.max(axis=0)
    steps = (hi - lo) / np.float32(255)
    steps = np.where(steps == 0, np.float32(1), steps)
    return (np.clip(np.floor((vectors - lo) / steps), 0, 255) - 128).astype(np.int8)


def binary_codes(vectors: np.ndarray) -> np.ndarray:
    """One bit per dimension: +1 where the value is positive, else −1 (Hamming ≡ −inner product)."""
    return np.where(vectors > 0, 1, -1).astype(np.int8)


def top_by_score(codes: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` rows of highest inner product with each row in ``rows`` (itself excluded); ties by lower row.

    Code inner products are integers below 2**24, exact in float32; the tie-break folds the
    row number into a float64 key (score × n + rank of the row), exact below 2**53.
    """
    import torch

    n = len(codes)
    db = torch.from_numpy(codes.astype(np.float32))
    later_rows_lower = torch.arange(n - 1, -1, -1, dtype=torch.float64)
    out = np.empty((rows.size, k), dtype=np.int64)
    block = max(16, BLOCK_CELLS // n)
    for start in range(0, rows.size, block):
        part = torch.from_numpy(rows[start:start + block])
        keys = (db[part] @ db.T).double() * n + later_rows_lower
        keys[torch.arange(part.numel()), part] = -torch.inf
        out[start:start + part.numel()] = keys.topk(k, dim=1).indices.numpy()
    return out


def rescored(vectors: np.ndarray, rows: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """``candidates`` of each row re-ranked by float32 cosine; the best ``k``."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    scores = np.einsum("qd,qcd->qc", unit[rows], unit[candidates])
    order = np.lexsort((candidates, -scores), axis=1)[:, :k]
    return np.take_along_axis(candidates, order, axis=1)


def agreement(found: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: Jaccard of the two k-NN sets and recall@k."""
    shared = overlap_counts(found, truth).astype(np.float64)
    k = truth.shape[1]
    return shared / (2 * k - shared), shared / k


Search = Callable[[np.ndarray, int], tuple[np.ndarray, float]]  # (rows, k) -> (neighbour rows, seconds)


def _timed(search: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    found = search()
    return found, time.perf_counter() - start


def _quantised(vectors: np.ndarray, codes: np.ndarray, depth: int) -> tuple[Search, Search]:
    """The plain and the rescored search of one quantisation, sharing one search of ``depth`` candidates.

    Each reports the time it would take alone: the candidate search, plus the re-ranking for the rescored one.
    """
    memo: dict[str, object] = {}

    def candidates(rows: np.ndarray) -> tuple[np.ndarray, float]:
        if memo.get("rows") is not rows:
            memo["rows"], (memo["top"], memo["seconds"]) = rows, _timed(lambda: top_by_score(codes, rows, depth))
        return memo["top"], memo["seconds"]

    def plain(rows: np.ndarray, k: int) -> tuple[np.ndarray, float]:
        top, seconds = candidates(rows)
        return top[:, :k], seconds

    def rescoring(rows: np.ndarray, k: int) -> tuple[np.ndarray, float]:
        top, seconds = candidates(rows)
        found, more = _timed(lambda: rescored(vectors, rows, top, k))
        return found, seconds + more

    return plain, rescoring


def _variants(vectors: np.ndarray, params: RobustnessParams) -> list[tuple[str, float, Search]]:
    """(name, bytes per vector, search) of every variant asked for."""
    d = vectors.shape[1]

    def truncated(m: int) -> Search:
        index = QueryIndex(np.ascontiguousarray(vectors[:, :m]), "cosine")
        return lambda rows, k: _timed(lambda: index.search(vectors[rows, :m], k, exclude=rows)[0])

    out = [(f"{m} dims", 4.0 * m, truncated(m)) for m in sorted(set(params.dims), reverse=True) if 0 < m < d]
    depth = min(max(params.rescore, 1) * params.k, len(vectors) - 1)
    for kind in params.quantisations:
        if kind not in QUANTISATIONS:
            raise ValueError(f"unknown quantisation {kind!r}; expected one of {', '.join(QUANTISATIONS)}")
        codes = int8_codes(vectors) if kind == "int8" else binary_codes(vectors)
        size = float(d) if kind == "int8" else d / 8.0
        plain, rescoring = _quantised(vectors, codes, depth)
        out += [(kind, size, plain), (f"{kind} + rescore", size, rescoring)]
    return out


def compute(data: AnalysisData, params: RobustnessParams, progress: Progress) -> RobustnessResult:
    """Agreement of every variant's k-NN lists with the float32 lists, per evaluated document.

    Under the duplicate policy "fold" (core.duplicates) the lists join distinct texts; copies share the answer.
    """
    distinct = distinct_rows(data)
    data = distinct.restrict_data(data)
    vectors = np.asarray(data.vectors, dtype=np.float32)
    n, k = len(vectors), params.k
    if not 1 <= k < n:
        raise ValueError(f"k = {k} needs more than k documents (there are {n})")
    rows = seeded_rows(n, params.sample, params.random_state)
    variants = _variants(vectors, params)
    progress(0, len(variants) + 1, "float32 neighbours")
    if data.knn is not None and data.knn.k >= k and data.knn.metric == "cosine":
        truth, base_ms = data.knn.indices[rows, :k], float("nan")
    else:
        index = QueryIndex(vectors, "cosine")
        truth, seconds = _timed(lambda: index.search(vectors[rows], k, exclude=rows)[0])
        base_ms = seconds * 1000.0 / rows.size
    out = [Variant("float32", 4.0 * vectors.shape[1], 1.0, 1.0, base_ms)]
    per_row = np.full((len(variants) + 1, n), np.nan, dtype=np.float32)
    per_row[0, rows] = 1.0
    for i, (name, size, search) in enumerate(variants, start=1):
        progress(i, len(variants) + 1, name)
        found, seconds = search(rows, k)
        jaccard, recall = agreement(found, truth)
        per_row[i, rows] = jaccard
        out.append(Variant(name, size, float(jaccard.mean()), float(recall.mean()), seconds * 1000.0 / rows.size))
    progress(len(variants) + 1, len(variants) + 1, "done")
    return RobustnessResult(tuple(out), distinct.expand(per_row.T).T, distinct.first[rows].astype(np.int64), k)
