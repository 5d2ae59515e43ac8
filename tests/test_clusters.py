"""Clusters plugin, Qt-free parts: c-TF-IDF by hand, nested levels, the compute, names and export."""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from core.knn import exact_knn
from core.plugin_api import AnalysisData
from core.progress import null_progress
from plugins.clusters import ctfidf
from plugins.clusters.analysis import ClustersParams, compute
from plugins.clusters.hierarchy import cluster_levels, parents
from plugins.clusters.names import export_clusters, names_from_arrays, names_to_arrays
from plugins.clusters.panel import TOPICS, sample_data


def test_c_tf_idf_matches_a_hand_computed_example():
    # terms: apple, banana, cherry. class 0 = "apple apple banana", class 1 = "banana cherry"
    counts = sp.csr_matrix(np.array([[2, 1, 0], [0, 1, 1]]))
    weights = ctfidf.c_tf_idf(counts).toarray()
    # words per class 3 and 2: A = 2.5; f(apple) = 2, f(banana) = 2, f(cherry) = 1
    # idf(apple) = idf(banana) = ln(1 + 2.5 / 2) = ln 2.25 = 0.810930; idf(cherry) = ln 3.5 = 1.252763
    # class 0: tf = 2/3, 1/3, 0; class 1: tf = 0, 1/2, 1/2
    expected = [[2 / 3 * 0.810930, 1 / 3 * 0.810930, 0.0], [0.0, 0.5 * 0.810930, 0.5 * 1.252763]]
    assert weights == pytest.approx(np.array(expected), abs=1e-6)
    assert expected[0][0] == pytest.approx(0.540620, abs=1e-6) and expected[1][2] == pytest.approx(0.626381, abs=1e-6)


def test_terms_drop_english_german_french_stop_words_and_keep_bigrams():
    texts = ["the machine learning of der Hund und les chats", "machine learning et die Katze", "with a cat"]
    counts, terms = ctfidf.term_counts(texts, min_df=1)
    assert "machine learning" in terms and "hund" in terms and "chats" in terms
    assert not {"the", "of", "der", "und", "les", "et", "die", "with"} & set(terms)
    assert counts.shape == (3, len(terms))
    classes = ctfidf.class_counts(counts, np.array([0, 0, 1]), 2).toarray()
    col = list(terms).index("machine learning")
    assert classes[:, col].tolist() == [2, 0]


def test_top_terms_skip_terms_sharing_a_word_with_a_heavier_one():
    terms = np.array(["goal", "goal data", "machine learning", "learning", "zebra"])
    weights = sp.csr_matrix(np.array([[0.9, 0.8, 0.7, 0.6, 0.1]]))
    assert ctfidf.top_terms(weights, terms, 0, 3) == ["goal", "machine learning", "zebra"]
    assert ctfidf.top_terms(weights, terms, 0, 1) == ["goal"]


def test_levels_nest_and_are_deterministic():
    data = sample_data(900)
    a = cluster_levels(data.coords, 15)
    b = cluster_levels(data.coords, 15)
    assert len(a.labels) >= 2 and all(np.array_equal(x, y) for x, y in zip(a.labels, b.labels))
    counts = [int(lab.max()) + 1 for lab in a.labels]
    assert counts == sorted(counts) and counts[0] < counts[-1]  # coarse first
    for coarse, fine in zip(a.labels[:-1], a.labels[1:]):
        up = parents(fine, coarse)
        for c in range(int(fine.max()) + 1):  # a fine cluster lies inside one coarse cluster (or its noise)
            inside = set(coarse[fine == c].tolist()) - {-1}
            assert len(inside) <= 1 and (not inside or up[c] in inside)


def test_non_finite_rows_are_noise():
    data = sample_data(600)
    coords = data.coords.copy()
    coords[:5] = np.nan
    levels = cluster_levels(coords, 15)
    assert all((lab[:5] == -1).all() for lab in levels.labels)


@pytest.fixture(scope="module")
def result():
    data = sample_data(1200)
    params = ClustersParams()
    data = AnalysisData(data.vectors, data.doc_ids, knn=exact_knn(data.vectors, params.k), coords=data.coords,
                        extras=data.extras)
    return data, compute(data, params, null_progress())


def test_compute_finds_the_topics_with_their_words(result):
    data, res = result
    finest = [c for c in res.clusters if c.level == res.n_levels - 1]
    assert len(finest) == len(TOPICS)
    found = [set(" ".join(c.keywords[:3]).split()) for c in finest]  # words of the label, bigrams split
    for words in TOPICS:
        assert any(kw <= set(words) for kw in found), words
    topic = (data.doc_ids - 100) % len(TOPICS)
    for c in finest:
        rows = res.members(c.id)
        assert np.bincount(topic[rows]).max() / rows.size > 0.95
        assert set(c.representatives) <= set(rows.tolist()) and len(c.representatives) == 3
        assert c.parent >= 0 and res.clusters[c.parent].level == c.level - 1
        m = c.measures
        assert 0.5 < m["mean_cosine"] < 1 and 0 <= m["antihub_share"] <= 1 and m["lid"] > 1
        assert 0 <= m["preservation"] <= 1 and m["mean_nk"] > 0


def test_measures_are_right_for_one_cluster(result):
    data, res = result
    c = res.clusters[-1]
    rows = res.members(c.id)
    unit = data.vectors[rows] / np.linalg.norm(data.vectors[rows], axis=1, keepdims=True)
    cos = unit @ unit.T
    assert c.measures["mean_cosine"] == pytest.approx((cos.sum() - len(rows)) / (len(rows) * (len(rows) - 1)), rel=1e-4)
    occ = np.bincount(data.knn.indices[:, :10].ravel(), minlength=data.n)
    assert c.measures["mean_nk"] == pytest.approx(occ[rows].mean(), rel=1e-5)
    assert c.measures["antihub_share"] == pytest.approx(np.mean(occ[rows] == 0))


def test_without_a_layout_the_result_waits():
    data = sample_data(100)
    res = compute(AnalysisData(data.vectors, data.doc_ids), ClustersParams(), null_progress())
    assert res.clusters == () and "layout" in res.status


def test_map_labels_and_names(result):
    _, res = result
    labels = res.map_labels({0: "Sciences"})
    assert len(labels) == len(res.clusters) and labels.texts[0] == "Sciences" and labels.n_levels == res.n_levels
    for c, first, last in zip(res.clusters, labels.level, labels.until):
        has_children = any(o.parent == c.id for o in res.clusters)
        assert first == (0 if c.parent < 0 else c.level) and last == (c.level if has_children else res.n_levels - 1)
    # at every zoom level each document's region is named once: the shown clusters never nest
    for zoom in range(res.n_levels):
        shown = [c for c, on in zip(res.clusters, labels.shown_at(zoom)) if on]
        rows = np.concatenate([res.members(c.id) for c in shown])
        assert rows.size == np.unique(rows).size


def test_names_follow_their_documents_after_a_recompute(result):
    data, res = result
    target = res.clusters[-1]
    arrays = names_to_arrays(res, {target.id: "Baking"})
    assert names_from_arrays(res, arrays) == {target.id: "Baking"}
    # the same documents in another order of clusters: the name still finds its cluster
    flipped = type(res)(res.assignments[:, ::-1], res.clusters, res.doc_ids[::-1])
    assert names_from_arrays(flipped, arrays) == {target.id: "Baking"}
    merged = names_to_arrays(res, {0: "Top"}, arrays)
    assert sorted(names_from_arrays(res, merged).values()) == ["Baking", "Top"]


def test_export_writes_assignments_and_clusters(result, tmp_path):
    import csv

    _, res = result
    assign, clusters = export_clusters(res, tmp_path / "out.csv", {0: "Sciences"})
    rows = list(csv.DictReader(assign.read_text().splitlines()))
    assert len(rows) == len(res.doc_ids) and rows[0]["doc_id"] == str(res.doc_ids[0])
    level0 = {r["cluster_level0"]: r["name_level0"] for r in rows}
    assert level0["0"] == "Sciences" and level0.get("-1", "") == ""
    table = list(csv.DictReader(clusters.read_text().splitlines()))
    assert len(table) == len(res.clusters) and table[0]["name"] == "Sciences" and math.isfinite(float(table[0]["lid"]))
    parquet, _ = export_clusters(res, tmp_path / "out.parquet", {})
    import pyarrow.parquet as pq

    assert pq.read_table(parquet).num_rows == len(res.doc_ids)
