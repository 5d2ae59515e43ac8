"""Layer profile of the documents in view (Qt-free): a seeded sample embedded from every layer of the
view's model, and each layer's geometry (see :mod:`core.layers`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.duplicates import distinct_rows
from core.layers import LayerProfile, layer_profile, model_layers
from core.plugin_api import AnalysisData, CacheableResult, NotApplicable
from core.progress import Progress
from core.sampling import seeded_rows


@dataclass(frozen=True)
class LayersParams:
    """How many documents are embedded from every layer, and the k of the k-skewness."""

    sample: int = 2_000
    k: int = 10
    run: bool = False  # embedding every layer takes minutes on a CPU: only once the user asks
    batch_size: int = 32
    random_state: int = 0


@dataclass(frozen=True)
class LayersResult(CacheableResult):
    """The profile of ``model`` over the sampled ``rows``."""

    model: str
    profile: LayerProfile
    rows: np.ndarray

    def as_dict(self) -> dict:
        return {"model": self.model, "documents": int(self.rows.size), "k": self.profile.k,
                "layers": self.profile.as_rows()}

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"model": np.str_(self.model), "values": self.profile.values, "k": np.asarray(self.profile.k),
                "rows": self.rows}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> LayersResult:
        return cls(str(arrays["model"]), LayerProfile(arrays["values"], int(arrays["k"])), arrays["rows"])


def compute(data: AnalysisData, params: LayersParams, progress: Progress) -> LayersResult:
    """Embed the sample from every layer of the view's model and measure each layer."""
    if not params.run:
        raise NotApplicable("Press “Profile the layers” to embed a sample of the documents from every layer "
                            "of the model (about a minute per 1,000 short texts on a laptop CPU).")
    model = data.extras.get("model_name")
    texts_of = data.extras.get("texts")
    if not model or texts_of is None:
        raise ValueError("the layer profile needs the model's name and the documents' texts")
    distinct = distinct_rows(data)  # the duplicate policy: a text is sampled once (core.duplicates)
    rows = distinct.first[seeded_rows(distinct.m, params.sample, params.random_state)]
    if rows.size <= params.k + 2:
        raise NotApplicable(f"{rows.size} documents are too few for a layer profile with k = {params.k}")
    layers = model_layers(model, texts_of(data.doc_ids[rows]), params.batch_size, progress)
    return LayersResult(model, layer_profile(layers, params.k, progress), rows)


