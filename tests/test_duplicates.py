"""One duplicate policy for every view (core.duplicates), checked against a numpy brute force."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from core.duplicates import DistinctRows, distinct_rows
from core.knn import exact_knn
from core.plugin_api import AnalysisData
from core.progress import null_progress
from plugins.anisotropy.analysis import AnisotropyParams
from plugins.anisotropy.analysis import compute as anisotropy
from plugins.hubness.analysis import HubnessParams
from plugins.hubness.analysis import compute as hubness
from plugins.neighbours.analysis import NeighboursParams
from plugins.neighbours.analysis import compute as neighbours

K = 5


def corpus_with_copies(policy: str = "fold") -> tuple[AnalysisData, list[str]]:
    """80 distinct texts; 12 of them appear 2–4 times (22 extra rows), copies spread through the rows."""
    rng = np.random.default_rng(7)
    distinct = [f"abstract {i}" for i in range(80)]
    texts = distinct + [distinct[i] for i in (3, 3, 3, 10, 10, 21, 22, 35, 35, 40, 41, 50, 50, 50, 61, 62, 63, 64,
                                              70, 71, 79, 79)]
    order = rng.permutation(len(texts))
    texts = [texts[i] for i in order]
    base = rng.standard_normal((80, 24)).astype(np.float32)
    vectors = np.stack([base[int(t.split()[1])] for t in texts])
    hashes = np.array([hashlib.sha256(t.encode()).digest() for t in texts], dtype="S32")
    data = AnalysisData(vectors=vectors, doc_ids=np.arange(len(texts)), extras={"hashes": hashes, "duplicates": policy})
    return data, texts


def brute_force_occurrence(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """kNN lists (cosine, self excluded, ties by lower index) and N_k, by a full similarity matrix."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sim = unit.astype(np.float64) @ unit.T.astype(np.float64)
    np.fill_diagonal(sim, -np.inf)
    lists = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    return lists, np.bincount(lists.ravel(), minlength=len(vectors))


def test_distinct_rows_groups_by_hash_in_row_order():
    keys = np.array([b"b", b"a", b"b", b"c", b"a"], dtype="S32")
    rows = DistinctRows.of_keys(keys, 5)
    assert rows.first.tolist() == [0, 1, 3] and rows.group.tolist() == [0, 1, 0, 2, 1]
    assert rows.counts.tolist() == [2, 2, 1] and rows.copies(np.array([4, 3])).tolist() == [2, 1]
    assert rows.expand(np.array([7, 8, 9])).tolist() == [7, 8, 7, 9, 8]
    assert DistinctRows.of_keys(keys, 5, "keep").trivial
    with pytest.raises(ValueError, match="policy"):
        DistinctRows.of_keys(keys, 5, "merge")


def test_folded_hubness_matches_a_brute_force_on_distinct_texts_and_copies_share_n_k():
    data, texts = corpus_with_copies()
    distinct = distinct_rows(data)
    assert (data.n, distinct.m) == (102, 80)
    result = hubness(data, HubnessParams(k=K), null_progress())
    _, expected = brute_force_occurrence(data.vectors[distinct.first], K)
    assert result.occurrence[distinct.first].tolist() == expected.tolist()
    for text in set(texts):
        copies = [i for i, t in enumerate(texts) if t == text]
        assert len(set(result.occurrence[copies].tolist())) == 1, text  # identical copies, identical N_k
    assert result.occurrence[result.points].sum() == distinct.m * K  # the mean over texts is exactly k
    assert len({texts[r] for r in result.top_hubs}) == len(result.top_hubs)  # a hub is listed once


def test_folded_neighbour_lists_hold_no_copies_and_match_the_brute_force():
    data, texts = corpus_with_copies()
    distinct = distinct_rows(data)
    result = neighbours(data, NeighboursParams(k=K))
    lists, expected = brute_force_occurrence(data.vectors[distinct.first], K)
    for row in range(data.n):
        listed = [texts[r] for r in result.graph.indices[row]]
        assert texts[row] not in listed and len(set(listed)) == K
        assert listed == [texts[distinct.first[j]] for j in lists[distinct.group[row]]]
    assert result.k_occurrence[distinct.first].tolist() == expected.tolist()
    back, _ = result.reverse(int(distinct.first[0]))
    assert len({texts[r] for r in back}) == back.size == expected[0]  # reverse neighbours: one row per text
    assert result.copies(np.flatnonzero(np.array(texts) == "abstract 3")).tolist() == [4, 4, 4, 4]


def test_every_view_counts_the_same_points():
    data, _ = corpus_with_copies()
    graph = exact_knn(data.vectors[distinct_rows(data).first], 2 * K)  # what the host hands over
    shared = AnalysisData(data.vectors, data.doc_ids, knn=distinct_rows(data).expand_graph(graph), extras=data.extras)
    hub = hubness(shared, HubnessParams(k=K, candidates=2 * K), null_progress())
    nbr = neighbours(shared, NeighboursParams(k=K))
    report = anisotropy(data, AnisotropyParams(), null_progress()).reports["none"]
    assert hub.points.size == report.n == report.id_sample_size == nbr.distinct.m == 80
    assert report.id_duplicates == 0


def test_keep_policy_counts_every_row():
    data, texts = corpus_with_copies("keep")
    result = hubness(data, HubnessParams(k=K), null_progress())
    _, expected = brute_force_occurrence(data.vectors, K)
    assert result.points.size == data.n == 102 and result.occurrence.sum() == data.n * K
    assert result.occurrence.tolist() == expected.tolist()
    lists = neighbours(data, NeighboursParams(k=K)).graph.indices
    assert any(texts[row] in [texts[r] for r in lists[row]] for row in range(data.n))  # copies are neighbours


def test_compare_counts_each_text_once_and_copies_share_their_overlap():
    from plugins.compare.analysis import CompareParams
    from plugins.compare.analysis import compute as compare

    data, texts = corpus_with_copies()
    other = data.vectors @ np.random.default_rng(3).standard_normal((24, 16)).astype(np.float32)
    spaces = AnalysisData(data.vectors, data.doc_ids, collection_ids=(np.arange(data.n) % 2).astype(np.int64),
                          extras={**data.extras, "spaces": {"b": other}})
    result = compare(spaces, CompareParams(k=K, layout="pca"), null_progress())
    pair = result.pair
    assert pair.n == 80 and len({texts[r] for r in pair.rows}) == 80
    for row, listed in zip(pair.rows, pair.knn_a):
        assert texts[row] not in [texts[r] for r in listed]
    overlap = pair.overlap_by_row()
    assert np.isfinite(overlap).all()
    copies = [i for i, t in enumerate(texts) if t == "abstract 50"]
    assert len(set(overlap[copies].tolist())) == 1
    assert result.collections.sizes.sum() == 80  # the collection comparison counts texts too


def test_robustness_evaluates_each_text_once_and_copies_share_their_agreement():
    from plugins.robustness.analysis import RobustnessParams
    from plugins.robustness.analysis import compute as robustness

    data, texts = corpus_with_copies()
    result = robustness(data, RobustnessParams(k=K, dims=(16, 8)), null_progress())
    assert result.rows.size == len({texts[r] for r in result.rows}) == 80
    copies = [i for i, t in enumerate(texts) if t == "abstract 3"]
    assert np.unique(result.per_row[:, copies], axis=1).shape[1] == 1


def test_languages_count_each_text_once():
    from plugins.languages.analysis import LanguagesParams
    from plugins.languages.analysis import compute as languages

    data, texts = corpus_with_copies()
    lang = np.array(["en" if int(t.split()[1]) % 2 else "de" for t in texts])
    data = AnalysisData(data.vectors, data.doc_ids, extras={**data.extras, "labels": {"lang": lang}})
    assert languages(data, LanguagesParams(column="lang"), null_progress()).counts.sum() == 80
