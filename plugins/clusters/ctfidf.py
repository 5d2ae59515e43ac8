"""Class-based TF-IDF keywords for clusters (Qt-free).

c-TF-IDF as BERTopic defines it (Grootendorst 2022, "BERTopic: Neural topic
modeling with a class-based TF-IDF procedure", arXiv:2203.05794, eq. 1):
all documents of a class are joined into one, and term t in class c weighs

    W(t, c) = tf(t, c) · log(1 + A / f(t))

with tf(t, c) the frequency of t in c divided by the number of words in c (the
L1 normalisation BERTopic's ``ClassTfidfTransformer`` applies), f(t) the
frequency of t over all classes, and A the average number of words per class.
(BERTopic's code rounds A down to an integer; we keep the exact mean.)
Uni- and bigrams; English, German and French stop words are dropped before
bigrams are formed, as scikit-learn's ``CountVectorizer`` does.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from plugins.clusters.stopwords import STOP_WORDS

#: a token starts with a letter and has at least two letters or digits
TOKEN_PATTERN = r"(?u)\b[^\W\d_][^\W_]+\b"


def term_counts(texts: list[str], min_df: int = 2) -> tuple[sp.csr_matrix, np.ndarray]:
    """Document-term counts ``(n, V)`` of uni- and bigrams and the terms, in vocabulary order.

    Terms in fewer than ``min_df`` documents are dropped (when that leaves any).
    """
    from sklearn.feature_extraction.text import CountVectorizer

    def vectorizer(df: int) -> CountVectorizer:
        return CountVectorizer(ngram_range=(1, 2), stop_words=sorted(STOP_WORDS), token_pattern=TOKEN_PATTERN,
                               min_df=df, dtype=np.float64)

    try:
        vec = vectorizer(min_df)
        counts = vec.fit_transform(texts)
    except ValueError:  # nothing reaches min_df (a tiny corpus) or no words at all
        try:
            vec = vectorizer(1)
            counts = vec.fit_transform(texts)
        except ValueError:
            return sp.csr_matrix((len(texts), 0)), np.empty(0, dtype=str)
    return counts.tocsr(), vec.get_feature_names_out()


def class_counts(counts: sp.csr_matrix, labels: np.ndarray, n_classes: int) -> sp.csr_matrix:
    """Term counts per class ``(n_classes, V)``: the rows of ``counts`` summed by ``labels`` (0..n_classes-1)."""
    member = sp.csr_matrix((np.ones(labels.size), (labels, np.arange(labels.size))), shape=(n_classes, labels.size))
    return (member @ counts).tocsr()


def c_tf_idf(class_term: sp.spmatrix) -> sp.csr_matrix:
    """W(t, c) = tf(t, c) · log(1 + A / f(t)) for a ``(classes, terms)`` count matrix (module docstring)."""
    X = sp.csr_matrix(class_term, dtype=np.float64)
    words = np.asarray(X.sum(axis=1)).ravel()
    freq = np.asarray(X.sum(axis=0)).ravel()
    average = words.mean() if words.size else 0.0
    idf = np.log(1.0 + average / np.where(freq > 0, freq, 1.0))
    tf = sp.diags(1.0 / np.where(words > 0, words, 1.0)) @ X
    return (tf @ sp.diags(idf)).tocsr()


def top_terms(weights: sp.csr_matrix, terms: np.ndarray, row: int, n: int = 5) -> list[str]:
    """The ``n`` heaviest terms of class ``row``, skipping any term that shares a word with a heavier
    one kept ("goal data" after "goal"), so the keywords name different things."""
    start, end = weights.indptr[row], weights.indptr[row + 1]
    cols, vals = weights.indices[start:end], weights.data[start:end]
    order = np.lexsort((cols, -vals))  # heaviest first, ties by vocabulary order
    kept: list[str] = []
    seen: set[str] = set()
    for col in cols[order]:
        words = set(str(terms[col]).split())
        if words & seen:
            continue
        kept.append(str(terms[col]))
        seen |= words
        if len(kept) == n:
            break
    return kept
