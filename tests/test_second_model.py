"""The second models load offline from their PyPI packages and embed real text;
a collection embedded with two models keeps both embedding sets."""
from __future__ import annotations

import numpy as np
import pytest

from core.encoder import load_encoder
from core.encoders_extra import EXTRA_MODELS, ONNX_MINILM_MODEL, STATIC_MODEL, OnnxMiniLMEncoder, StaticModelEncoder

SENTENCES = [
    "A man is playing a guitar.",
    "Someone plays the guitar.",
    "The stock market fell sharply today.",
    "",
]


@pytest.fixture(scope="module", params=[STATIC_MODEL, ONNX_MINILM_MODEL])
def encoder(request):
    model = load_encoder(request.param)
    model.load()
    return model


def test_load_encoder_dispatches_by_name():
    assert isinstance(load_encoder(STATIC_MODEL), StaticModelEncoder)
    assert isinstance(load_encoder(ONNX_MINILM_MODEL.upper()), OnnxMiniLMEncoder)
    assert set(EXTRA_MODELS) == {STATIC_MODEL, ONNX_MINILM_MODEL}


def test_second_model_embeds_offline_with_its_stated_dimension(encoder):
    vectors = encoder.encode(SENTENCES, batch_size=2)
    assert vectors.shape == (4, encoder.dim) and vectors.dtype == np.float32
    assert encoder.dim == {STATIC_MODEL: 64, ONNX_MINILM_MODEL: 384}[encoder.name]
    assert np.isfinite(vectors).all()
    unit = vectors[:3] / np.linalg.norm(vectors[:3], axis=1, keepdims=True)
    similar, unrelated = unit[0] @ unit[1], unit[0] @ unit[2]
    assert similar > unrelated + 0.3  # a paraphrase is much closer than an unrelated sentence
    if encoder.normalizes:
        np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(encoder.encode(SENTENCES[:1])[0], vectors[0], atol=1e-5)  # batching does not matter


def test_second_model_flags_texts_beyond_its_length_limit(encoder):
    long_text = " ".join(f"word{i}" for i in range(encoder.max_seq_length + 50))
    assert encoder.truncated([long_text, "short"]).tolist() == [True, False]


def test_embedding_with_a_second_model_keeps_both_sets(store, hashing):
    from core.pipeline import embed_pending

    cid = store.create_collection("notes")
    store.add_documents(cid, SENTENCES[:3] * 2)
    embed_pending(store, hashing, [cid])
    outcome = embed_pending(store, load_encoder(STATIC_MODEL), [cid])
    assert outcome.embedded == 3  # identical texts are embedded once
    sets = {s.model_name: s for s in store.embedding_sets(cid)}
    assert set(sets) == {"hashing-64", STATIC_MODEL} and all(s.complete for s in sets.values())
    _, _, vectors = store.load_vectors([cid], outcome.model_id)
    assert vectors.shape == (6, 64)
