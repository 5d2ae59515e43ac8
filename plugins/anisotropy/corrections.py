"""What-if corrections of anisotropy: centring, whitening, all-but-the-top.

Each returns a new array (the input is never modified), of the input's float
dtype. The ``_``-variants take precomputed moments so ``compute`` reuses the
single pass it already made over the raw vectors, and derives the moments of
each corrected set from them exactly (:func:`_corrected_moments`).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from core.anisotropy import _as_float, _Moments, _moments

CORRECTIONS = ("none", "center", "whiten", "all_but_the_top")
WHITEN_RTOL = 1e-6


def default_abtt_d(d: int) -> int:
    """Mu & Viswanath's rule of thumb: remove D ≈ d/100 directions (at least 1)."""
    return max(1, d // 100)


def _kept(m: _Moments) -> np.ndarray:
    """Principal directions whitening keeps (eigenvalue above ``WHITEN_RTOL`` × the largest)."""
    return m.eigvals > WHITEN_RTOL * m.eigvals[0]


def _center(X: np.ndarray, m: _Moments) -> np.ndarray:
    return X - m.mean.astype(X.dtype)


def _whiten(X: np.ndarray, m: _Moments) -> np.ndarray:
    scale = np.zeros_like(m.eigvals)
    kept = _kept(m)
    scale[kept] = 1.0 / np.sqrt(m.eigvals[kept])
    return _center(X, m) @ (m.eigvecs * scale).astype(X.dtype)


def _all_but_the_top(X: np.ndarray, m: _Moments, D: int) -> np.ndarray:
    top = m.eigvecs[:, : max(0, min(D, X.shape[1]))].astype(X.dtype)
    centred = _center(X, m)
    return centred - (centred @ top) @ top.T


def center(X: np.ndarray) -> np.ndarray:
    """Subtract the mean vector (removes the common direction behind high mean cosine)."""
    X = _as_float(X)
    return X - X.mean(axis=0, dtype=np.float64).astype(X.dtype)


def whiten(X: np.ndarray) -> np.ndarray:
    """Whitening (Su et al. 2021): (x − μ) U Λ^{-1/2}, with Σ = U Λ Uᵀ.

    The output coordinates are the principal components scaled to unit
    variance. Directions with eigenvalue below ``WHITEN_RTOL`` × the largest
    (numerically zero) are set to 0 rather than blown up.
    """
    X = _as_float(X)
    return _whiten(X, _moments(X))


def all_but_the_top(X: np.ndarray, D: int | None = None) -> np.ndarray:
    """All-but-the-top (Mu & Viswanath 2018): centre, then remove the top D principal directions.

    ``D=None`` uses :func:`default_abtt_d`, max(1, d // 100).
    """
    X = _as_float(X)
    return _all_but_the_top(X, _moments(X), default_abtt_d(X.shape[1]) if D is None else D)


def _apply_correction(X: np.ndarray, name: str, D: int, m: _Moments) -> np.ndarray:
    """Correction ``name`` (other than "none") of ``X`` given its moments ``m``."""
    if name == "center":
        return _center(X, m)
    if name == "whiten":
        return _whiten(X, m)
    if name == "all_but_the_top":
        return _all_but_the_top(X, m, D)
    raise ValueError(f"unknown correction {name!r}; expected one of {CORRECTIONS}")


def _corrected_moments(name: str, m: _Moments, D: int) -> _Moments:
    """Moments of correction ``name``'s output, derived exactly from the raw moments ``m``.

    Centring keeps the covariance; whitening makes it the identity on the kept
    directions (in principal coordinates); all-but-the-top zeroes the top D
    eigenvalues. Saves one O(nd²) pass per correction.
    """
    zero = np.zeros_like(m.mean)
    if name == "center":
        return replace(m, mean=zero)
    if name == "whiten":
        kept = _kept(m).astype(np.float64)  # descending already: kept directions come first
        return _Moments(m.n, zero, np.diag(kept), kept, np.eye(kept.size))
    if name == "all_but_the_top":
        D = max(0, min(D, m.eigvals.size))
        values = np.concatenate([m.eigvals[D:], np.zeros(D)])
        vectors = np.concatenate([m.eigvecs[:, D:], m.eigvecs[:, :D]], axis=1)
        return _Moments(m.n, zero, (vectors * values) @ vectors.T, values, vectors)
    raise ValueError(f"unknown correction {name!r}; expected one of {CORRECTIONS}")
