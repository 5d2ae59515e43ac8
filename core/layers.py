"""Layer by layer: a sentence-transformers model's embedding from every transformer layer, and the
geometry of each (Qt-free).

Each layer's hidden states go through the model's own modules after the transformer (its pooling,
normalisation…), so layer L of an all-MiniLM-L6-v2 is what the model would output if it stopped
after L blocks; the last layer equals the model's output. Layer 0 is the embedding layer.
Per layer: mean cosine of all pairs, IsoScore, effective rank, TwoNN intrinsic dimension,
k-skewness of the k-NN graph, and linear CKA with the last and the previous layer — the measures
studied across layers by Ethayarajh (EMNLP 2019), Rudman et al. (2022) and Valeriani et al.
(NeurIPS 2023).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from core.anisotropy import effective_rank, isoscore, mean_pair_cosine, pca_spectrum
from core.compare import linear_cka
from core.hubness import k_occurrence, k_skewness
from core.intrinsic_dim import twonn
from core.knn import exact_knn
from core.plugin_api import NotApplicable
from core.progress import Progress

MEASURES = ("mean_cosine", "isoscore", "effective_rank", "twonn", "k_skewness", "cka_last", "cka_previous")


def layer_embeddings(model: Any, texts: Sequence[str], batch_size: int = 32,
                     progress: Progress | None = None) -> np.ndarray:
    """(layers + 1, n, d) float32: every layer's hidden states pooled by ``model``'s own modules.

    ``model`` is a loaded ``SentenceTransformer`` whose first module is a transformer. Texts are
    encoded longest first (less padding), in batches, without gradients.
    """
    import torch

    transformer, after = model[0], list(model)[1:]
    accepted = set(getattr(transformer, "model_forward_params", ()) or ("input_ids", "attention_mask", "token_type_ids"))
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out: np.ndarray | None = None
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            features = model.preprocess([texts[i] for i in rows])
            tensors = {k: v.to(model.device) for k, v in features.items() if isinstance(v, torch.Tensor)}
            hidden = transformer.auto_model(**{k: v for k, v in tensors.items() if k in accepted},
                                            output_hidden_states=True, return_dict=True).hidden_states
            for layer, states in enumerate(hidden):
                pooled = {**tensors, "token_embeddings": states}
                for module in after:
                    pooled = module(pooled)
                vectors = pooled["sentence_embedding"].float().cpu().numpy()
                if out is None:
                    out = np.empty((len(hidden), len(texts), vectors.shape[1]), dtype=np.float32)
                out[layer, rows] = vectors
            if progress is not None:
                progress(min(start + batch_size, len(texts)), len(texts), "embedding every layer")
    if out is None:
        raise ValueError("no texts to embed")
    return out


def model_layers(model_name: str, texts: Sequence[str], batch_size: int = 32,
                 progress: Progress | None = None) -> np.ndarray:
    """:func:`layer_embeddings` of the model called ``model_name`` (ValueError if it has no layers to show)."""
    from core.encoder import SentenceTransformerEncoder, load_encoder

    encoder = load_encoder(model_name)
    if not isinstance(encoder, SentenceTransformerEncoder):
        raise NotApplicable(f"{model_name!r} is not a transformer-based sentence-transformers model: "
                            "it has no layers to show")
    model = encoder.sentence_transformer()
    if not hasattr(model[0], "auto_model"):
        raise NotApplicable(f"{model_name!r} does not start with a transformer: it has no layers to show")
    return layer_embeddings(model, texts, batch_size, progress)


def layer_embeddings_of_model_layer(model_name: str, texts: Sequence[str], layer: int) -> np.ndarray:
    """The embedding of ``texts`` from one ``layer`` of ``model_name`` (a derived set opened in every view)."""
    return model_layers(model_name, texts)[layer]


@dataclass(frozen=True)
class LayerProfile:
    """One row per layer (0 = embeddings), one column per name in ``MEASURES``."""

    values: np.ndarray  # (layers, len(MEASURES)) float64
    k: int

    def column(self, name: str) -> np.ndarray:
        return self.values[:, MEASURES.index(name)]

    def as_rows(self) -> list[dict[str, float]]:
        return [{"layer": layer, **{name: float(v) for name, v in zip(MEASURES, row)}}
                for layer, row in enumerate(self.values)]


def layer_profile(layers: np.ndarray, k: int = 10, progress: Progress | None = None) -> LayerProfile:
    """The geometry of each layer of ``layers`` (layers, n, d)."""
    count = len(layers)
    values = np.empty((count, len(MEASURES)))
    for layer, x in enumerate(layers):
        occurrence = k_occurrence(exact_knn(x, k))
        values[layer] = (mean_pair_cosine(x), isoscore(x), effective_rank(np.sqrt(pca_spectrum(x))), twonn(x), k_skewness(occurrence),
                         linear_cka(x, layers[-1]), linear_cka(x, layers[layer - 1]) if layer else np.nan)
        if progress is not None:
            progress(layer + 1, count, f"measuring layer {layer}")
    return LayerProfile(values, k)
