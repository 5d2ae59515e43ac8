"""Several devices: sentence-transformers' multi-process pool, one process per device.

No GPU here, so two CPU "devices" exercise the same pool code a multi-GPU server runs.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from commands.cli import main
from core.encoder import SentenceTransformerEncoder, all_gpus
from core.store import Store

TEXTS = [f"Document {i}: {'planets and moons' if i % 2 else 'bread and butter'} " * (1 + i % 5) for i in range(24)]


@pytest.fixture(scope="module")
def pooled():
    encoder = SentenceTransformerEncoder(devices=("cpu", "cpu"))
    encoder.load()
    yield encoder
    encoder.close()


def test_the_pool_gives_the_single_process_vectors(pooled) -> None:
    single = SentenceTransformerEncoder(device="cpu")
    got, want = pooled.encode(TEXTS, batch_size=8), single.encode(TEXTS, batch_size=8)
    assert pooled._pool is not None and len(pooled._pool["processes"]) == 2
    assert got.shape == want.shape == (len(TEXTS), 384)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_close_stops_the_worker_processes() -> None:
    encoder = SentenceTransformerEncoder(devices=("cpu", "cpu"))
    encoder.load()
    pids = [p.pid for p in encoder._pool["processes"]]
    encoder.close()
    assert encoder._pool is None
    for pid in pids:  # joined and reaped: the pid no longer names a process of ours
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_one_gpu_or_none_means_no_pool() -> None:
    assert all_gpus("cpu") == () and all_gpus("mps") == ()
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    # "auto" pools the GPUs only when there are two or more; one GPU or none is a single device
    assert all_gpus("auto") == (tuple(f"cuda:{i}" for i in range(gpus)) if gpus > 1 else ())


def test_devices_belong_to_the_local_engine(tmp_path, capsys) -> None:
    Store.open(tmp_path / "w.duckdb").close()
    with pytest.raises(SystemExit):
        main(["embed", "--workspace", str(tmp_path / "w.duckdb"), "--engine", "ray", "--devices", "cuda:0,cuda:1"])
    assert "--devices is for the local engine" in capsys.readouterr().err
