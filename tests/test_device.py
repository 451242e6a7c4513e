"""Training on a device: data placed once, memory released between trials, no host synchronisation
per time step in the hand-written cells, every family equal on CUDA and CPU in float64.

Tests marked `cuda` need a CUDA GPU and are skipped without one (conftest.py); `benchmarks/gpu.sh`
runs them on the GPU machine (`pytest -m cuda`). The others run everywhere.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

from benchbench import device, training
from benchbench.data.registry import Splits
from benchbench.device_checks import HostReads, compare_devices, hand_written_families, host_syncs_per_step
from benchbench.models import MODELS
from benchbench.store.storage import StorageSpec
from benchbench.sweep.config import SweepConfig
from benchbench.sweep.run import run_sweep
from benchbench.tasks import load_task, task_names
from benchbench.contract import smoke_hparams
from tests.sweep.test_matrix import OFFLINE_MISSING, smoke_data

HAND_WRITTEN = hand_written_families()
OFFLINE_TASKS = [t for t in task_names() if t not in OFFLINE_MISSING]


# --- everywhere -----------------------------------------------------------------------------------


class _ReadsBackEachStep(torch.autograd.Function):
    """A cell that reads a value back to the host on every step, forwards and backwards."""

    @staticmethod
    def forward(ctx, x):  # x (T, B, H)
        out = x.clone()
        for t in range(len(x)):
            if out[t].sum() > 1e9:  # a truth value: one read per step
                out[t] = 0
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad * (1 + 0 * sum(grad[t].sum().item() for t in range(len(grad))))


def test_the_host_read_counter_counts_reads_forwards_and_backwards():
    x = torch.randn(10, 2, 3, requires_grad=True)
    with HostReads() as reads:
        _ReadsBackEachStep.apply(x).sum().backward()
    assert reads.count == 20 and {"__bool__", "item"} <= set(reads.calls)


def test_hand_written_families_are_found():
    assert "peephole" in HAND_WRITTEN and "clockwork" in HAND_WRITTEN and "convlstm" in HAND_WRITTEN
    assert not {"lstm", "gru", "rnn", "bilstm"} & set(HAND_WRITTEN)


@pytest.mark.parametrize("name", HAND_WRITTEN)
def test_hand_written_cells_read_nothing_back_per_step(name):
    """No `.item()`, `.cpu()`, truth value or the like inside the time loop, forwards or backwards:
    on a GPU each would stall the host once per step."""
    assert host_syncs_per_step(name, "cpu") == 0


@pytest.mark.parametrize("name", ["peephole", "lstm"])
def test_compare_devices_runs_outputs_state_and_gradients(name):
    found = compare_devices(name, "cpu")
    params = sum(1 for _ in MODELS.get(name)(input_size=6, hidden_size=8, num_layers=2).parameters())
    assert found["tensors"] == 1 + 2 + 1 + params  # out, (h, c), dx, every parameter
    assert found["max_abs_diff"] == 0.0


def test_tensor_splits_are_placed_on_the_device_once():
    """Fixed-length examples and token streams move in one copy each, kept for the next trial on the
    same splits; sentences of varying length stay on the host; the CPU changes nothing."""
    splits = Splits(
        train=TensorDataset(torch.randn(8, 5, 2), torch.randn(8, 1)), val=torch.arange(20), test=[(torch.arange(3), 1)],
    )  # fmt: skip
    assert device.on_device(splits, "cpu") is splits
    placed = device.on_device(splits, "meta")
    assert all(t.device.type == "meta" for t in placed.train.tensors) and placed.val.device.type == "meta"
    assert placed.test is splits.test
    assert device.on_device(splits, "meta") is placed  # not moved again
    other = Splits(train=splits.train, val=splits.val, test=splits.test)
    assert device.on_device(other, "meta") is not placed


def test_release_memory_empties_the_cuda_cache_only_where_cuda_was_used(monkeypatch):
    emptied = []
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(1))
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    device.release_memory()
    assert emptied == []
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    device.release_memory()
    assert emptied == [1]


def test_every_trial_releases_its_memory_however_it_ends(monkeypatch):
    released = []
    monkeypatch.setattr(training, "release_memory", lambda: released.append(1))
    task, data = load_task("adding"), smoke_data("adding")
    training.fit_and_test(task, "gru", smoke_hparams(load_task("adding"), "gru"), data=data, max_epochs=1, seed=0)
    assert released == [1]
    with pytest.raises(Exception, match="dropout"):
        training.fit_and_test(task, "gru", {**smoke_hparams(load_task("adding"), "gru"), "dropout": 2.0, "num_layers": 2}, data=data, max_epochs=1, seed=0)
    assert released == [1, 1]


# --- on a CUDA GPU --------------------------------------------------------------------------------


@pytest.mark.cuda
@pytest.mark.parametrize("name", MODELS.names())
def test_cuda_equals_cpu_in_float64(name):
    found = compare_devices(name, "cuda", T=30, B=5, I=6, H=16)
    assert found["max_abs_diff"] <= 1e-6 and found["max_rel_diff"] <= 1e-6, found


@pytest.mark.cuda
def test_the_sync_counter_sees_a_sync_per_step_on_cuda():
    """Both ways a step can wait on the host are counted: a Python-level read (`.item()`, a truth
    value) and a synchronising kernel call that reads nothing in Python (`torch.nonzero`)."""
    from benchbench.device_checks import _syncs

    x = torch.randn(6, 2, 3, device="cuda", requires_grad=True)
    assert _syncs(lambda: _ReadsBackEachStep.apply(x).sum().backward(), torch.device("cuda")) >= 12
    assert _syncs(lambda: [torch.nonzero(step) for step in x.detach()], torch.device("cuda")) >= 6


@pytest.mark.cuda
@pytest.mark.parametrize("name", HAND_WRITTEN)
def test_no_host_sync_per_step_on_cuda(name):
    assert host_syncs_per_step(name, "cuda", B=16, I=8, H=32) == 0


@pytest.mark.cuda
def test_fixed_length_batches_reach_the_model_already_on_the_gpu():
    """The adding task's examples are moved once; no batch comes from the host."""
    import lightning.pytorch as pl

    class Watch(pl.Callback):
        def __init__(self) -> None:
            self.devices: list[str] = []

        def on_fit_start(self, trainer, pl_module) -> None:
            hook = pl_module.transfer_batch_to_device

            def watched(batch, target, index):
                tensors = [t for t in torch.utils._pytree.tree_leaves(batch) if isinstance(t, torch.Tensor)]
                self.devices += [t.device.type for t in tensors]
                return hook(batch, target, index)

            pl_module.transfer_batch_to_device = watched

    watch = Watch()
    result = training.fit_and_test(
        load_task("adding"), "lstm", smoke_hparams(load_task("adding"), "lstm"), data=smoke_data("adding"), max_epochs=1, seed=0,
        callbacks=[watch],
    )  # fmt: skip
    assert result.device.startswith("cuda") and watch.devices and set(watch.devices) == {"cuda"}


@pytest.mark.cuda
def test_gpu_batches_after_an_epochs_one_copy_never_wait_on_the_host():
    from benchbench.batching import DeviceBatches, make_loader

    placed = device.on_device(smoke_data("adding"), "cuda")
    loader = make_loader(placed.train, batch_size=16, shuffle=True, seed=0)
    assert isinstance(loader, DeviceBatches)
    batches = iter(loader)
    first = next(batches)  # the epoch's indices are copied here, once
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        rest = list(batches)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert len(rest) == len(loader) - 1 and all(t.is_cuda for batch in (first, *rest) for t in batch)


@pytest.mark.cuda
def test_memory_is_released_between_trials():
    task, data = load_task("adding"), smoke_data("adding")
    hparams = {**smoke_hparams(load_task("adding"), "peephole"), "hidden_size": 256, "batch_size": 128}
    reserved = []
    for seed in (0, 1):
        training.fit_and_test(task, "peephole", hparams, data=data, max_epochs=1, seed=seed)
        reserved.append(torch.cuda.memory_reserved())
    # what stays is the placed data (a few hundred KiB here), not the trial's activations and weights
    assert reserved[1] <= reserved[0] and torch.cuda.memory_reserved() - torch.cuda.memory_allocated() < 4 << 20


@pytest.mark.cuda
@pytest.mark.parametrize("task", OFFLINE_TASKS)
def test_smoke_sweep_on_cuda(task, tmp_path: Path):
    import optuna

    run_sweep(SweepConfig(task=task, model="lstm", budget="smoke", trials=1, seeds=0, results=tmp_path))
    study = optuna.load_study(study_name=f"{task}/lstm/smoke", storage=StorageSpec(tmp_path, None).open())
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.COMPLETE and trial.user_attrs["device"].startswith("cuda")
    assert math.isfinite(trial.user_attrs["test"])


@pytest.mark.cuda
@pytest.mark.parametrize("name", MODELS.names())
def test_bf16_mixed_on_cuda_gives_finite_metrics(name):
    result = training.fit_and_test(
        load_task("adding"), name, smoke_hparams(load_task("adding"), name), data=smoke_data("adding"), max_epochs=2, seed=0,
        precision="bf16-mixed",
    )  # fmt: skip
    assert result.device.startswith("cuda") and math.isfinite(result.val) and math.isfinite(result.test)


@pytest.mark.cuda
@pytest.mark.parametrize("name", ["lstm", "peephole"])
def test_16_mixed_on_cuda_gives_finite_metrics(name):
    result = training.fit_and_test(
        load_task("adding"), name, smoke_hparams(load_task("adding"), name), data=smoke_data("adding"), max_epochs=2, seed=0,
        precision="16-mixed",
    )  # fmt: skip
    assert math.isfinite(result.val) and math.isfinite(result.test)


# --- several trials on one GPU ---------------------------------------------------------------------


def test_workers_sharing_one_gpu_get_an_even_share_of_the_cores(monkeypatch):
    """--jobs 4 with one visible GPU: four worker processes, all on that GPU, each with cores / 4
    intra-op threads under --threads 0 (one each by default)."""
    import multiprocessing

    from benchbench.sweep import workers

    started = []

    class FakeProcess:
        def __init__(self, target, args, daemon):
            self.args, self.exitcode = args, 0

        def start(self):
            started.append(self.args)

        def is_alive(self):
            return False

        def join(self, timeout=None):
            pass

    class FakeContext:
        Process = FakeProcess
        Queue = staticmethod(lambda: None)

        @staticmethod
        def get_start_method():
            return "spawn"

    monkeypatch.setattr(multiprocessing, "get_context", lambda method: FakeContext())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    monkeypatch.setattr(workers.os, "cpu_count", lambda: 16)
    workers.WorkerPool(4, threads=0)._revive()  # the pool's workers start (index, threads, device, ...)
    assert [(args[0], args[1], args[2]) for args in started] == [(i, 4, "0") for i in range(4)]
    started.clear()
    workers.WorkerPool(8, threads=1)._revive()
    assert {(args[1], args[2]) for args in started} == {(1, "0")} and len(started) == 8


def test_training_on_device_gathered_batches_gives_the_same_result(monkeypatch):
    """The loaders a GPU gets for fixed-length examples (batching.DeviceBatches, a plain iterable to
    Lightning) train and evaluate exactly as the host loaders: forced here on the CPU."""
    import functools

    task, data, hparams = load_task("adding"), smoke_data("adding"), smoke_hparams(load_task("adding"), "lstm")
    host = training.fit_and_test(task, "lstm", hparams, data=data, max_epochs=2, seed=3)
    monkeypatch.setattr(training, "make_loader", functools.partial(training.make_loader, gather_on_device=True))
    gathered = training.fit_and_test(task, "lstm", hparams, data=data, max_epochs=2, seed=3)
    assert (gathered.val, gathered.test, gathered.best_epoch) == (host.val, host.test, host.best_epoch)
