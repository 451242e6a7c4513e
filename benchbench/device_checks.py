"""Checks of the families on a device, shared by the test suite (tests/test_device.py, the `cuda`
tests) and `benchmarks/gpu.py`, so that both check the same thing the same way:

- `compare_devices`: a family's outputs, final state and every gradient on `device` against the CPU,
  in float64, from the same weights and inputs;
- `host_syncs_per_step`: how many host synchronisations a family's forward + backward makes per time
  step (on CUDA counted by torch's sync debug mode, on a CPU as the calls that read a tensor back to
  the host: `.item()`, `.cpu()`, `.tolist()`, `.numpy()`, a tensor's truth value); two sequence
  lengths, so whatever is done once per call cancels out;
- `time_forward_backward`: a family's forward + backward time against cuDNN's (or oneDNN's) nn.LSTM
  at equal shapes, alternating call by call.

A family is "hand-written" when its recurrence is our own code rather than one of torch's layers.
"""

from __future__ import annotations

import copy
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from benchbench.models import MODELS, create
from benchbench.models._base import TorchRecurrent

__all__ = ["compare_devices", "hand_written", "host_syncs_per_step", "time_forward_backward"]


def hand_written(name: str) -> bool:
    """Whether family `name` runs its own recurrence (not torch's nn.RNN / nn.LSTM / nn.GRU)."""
    return not isinstance(create(name, input_size=4, hidden_size=8), TorchRecurrent)


def hand_written_families() -> list[str]:
    return [name for name in MODELS.names() if hand_written(name)]


def _flat(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, tuple | list):
        return [t for v in value for t in _flat(v)]
    return []


def _forward_backward(model: nn.Module, x: torch.Tensor, weights: list[torch.Tensor]) -> list[torch.Tensor]:
    """Outputs, final state, d/dx and d/dparameter of Σ weights ⊙ (outputs and final state)."""
    x = x.detach().requires_grad_()
    model.zero_grad(set_to_none=True)
    out, state = model(x)
    results = [out, *_flat(state)]
    loss = sum((r * w).sum() for r, w in zip(results, weights, strict=True))
    loss.backward()
    grads = [x.grad, *(p.grad if p.grad is not None else torch.zeros_like(p) for p in model.parameters())]
    return [t.detach() for t in (*results, *grads)]


def compare_devices(name: str, device: str | torch.device, *, T: int = 12, B: int = 4, I: int = 6, H: int = 8, num_layers: int = 2) -> dict:
    """Run family `name` in float64 on the CPU and on `device` from the same weights and inputs.
    Returns the largest absolute and relative (to the largest CPU value) differences over outputs,
    final state and gradients, and how many tensors were compared."""
    torch.manual_seed(0)
    model = create(name, input_size=I, hidden_size=H, num_layers=num_layers).double().train()
    x = torch.randn(B, T, I, dtype=torch.float64)
    with torch.no_grad():
        shapes = [t.shape for t in (lambda o: [o[0], *_flat(o[1])])(model(x))]
    weights = [torch.randn(s, dtype=torch.float64) for s in shapes]
    on_cpu = _forward_backward(model, x, weights)
    other = copy.deepcopy(model).to(device)
    on_device = _forward_backward(other, x.to(device), [w.to(device) for w in weights])
    abs_diff = rel_diff = 0.0
    for a, b in zip(on_cpu, on_device, strict=True):
        diff = (a - b.cpu()).abs().max().item() if a.numel() else 0.0
        scale = a.abs().max().item() if a.numel() else 0.0
        abs_diff = max(abs_diff, diff)
        rel_diff = max(rel_diff, diff / scale if scale > 0 else diff)
    return {"max_abs_diff": abs_diff, "max_rel_diff": rel_diff, "tensors": len(on_cpu)}


# Tensor methods that copy a value back to the host (and so wait for the device).
_HOST_READS = ("item", "cpu", "tolist", "numpy", "__bool__", "__int__", "__float__", "__index__")


class HostReads:
    """Counts the calls of `_HOST_READS` on any tensor, in any thread (autograd's backward included),
    while the block runs: the methods of `torch.Tensor` are wrapped for its duration."""

    def __init__(self) -> None:
        self.count = 0
        self.calls: list[str] = []
        self._saved: dict[str, Any] = {}

    def _wrap(self, name: str, method: Callable) -> Callable:
        def counted(tensor, *args, **kwargs):  # noqa: ANN001
            self.count += 1
            self.calls.append(name)
            return method(tensor, *args, **kwargs)

        return counted

    def __enter__(self) -> HostReads:
        for name in _HOST_READS:
            self._saved[name] = torch.Tensor.__dict__.get(name)
            setattr(torch.Tensor, name, self._wrap(name, getattr(torch.Tensor, name)))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, method in self._saved.items():
            if method is None:
                delattr(torch.Tensor, name)  # inherited from the C base: uncover it again
            else:
                setattr(torch.Tensor, name, method)


def _syncs(run: Callable[[], None], device: torch.device) -> int:
    """Host reads of `run` (HostReads), plus on CUDA the synchronisations torch's sync debug mode
    reports (a read that is also a synchronisation counts twice: any count is one too many)."""
    if device.type != "cuda":
        with HostReads() as reads:
            run()
        return reads.count
    torch.cuda.synchronize(device)
    with warnings.catch_warnings(record=True) as caught, HostReads() as reads:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            run()
            torch.cuda.set_sync_debug_mode("default")
            torch.cuda.synchronize(device)  # backward's kernels, and any warning they raise, have run
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return reads.count + sum("synchroniz" in str(w.message) for w in caught)


def host_syncs_per_step(name: str, device: str | torch.device = "cpu", *, B: int = 4, I: int = 6, H: int = 8, lengths=(8, 24)) -> float:
    """Host synchronisations per time step of family `name`'s forward + backward on `device`: the
    difference between two sequence lengths over the difference in steps (one-off ones cancel)."""
    device = torch.device(device)
    torch.manual_seed(0)
    model = create(name, input_size=I, hidden_size=H, num_layers=1).to(device).train()
    counts = []
    for T in lengths:
        x = torch.randn(B, T, I, device=device)

        def run() -> None:
            out, _ = model(x)
            out.square().mean().backward()

        run()  # warm-up: one-off set-up (workspaces, caches) is not a per-step cost
        counts.append(_syncs(run, device))
    return (counts[1] - counts[0]) / (lengths[1] - lengths[0])


class _TorchLSTM(nn.Module):
    """The yardstick: nn.LSTM, batch-first, one layer (cuDNN on a GPU, oneDNN on a CPU)."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        return self.lstm(x)


def _timed(model: nn.Module, x: torch.Tensor) -> Callable[[], float]:
    def run() -> float:
        model.zero_grad(set_to_none=True)
        if x.is_cuda:
            torch.cuda.synchronize(x.device)
        start = time.perf_counter()
        out, _ = model(x)  # (B, T, output_size)
        out.square().mean().backward()
        if x.is_cuda:
            torch.cuda.synchronize(x.device)
        return time.perf_counter() - start

    return run


def time_forward_backward(name: str, device: str | torch.device, *, T: int, B: int, I: int, H: int, reps: int, warmup: int = 3) -> dict:
    """Family `name` against nn.LSTM on `device` at (T, B, I, H): the first call on its own (building,
    moving, allocating, cuDNN's set-up; nothing is compiled or captured), then `reps` calls of each
    alternating after `warmup`; the ratio of the medians."""
    device = torch.device(device)
    torch.manual_seed(0)
    x = torch.randn(B, T, I, device=device)  # (B, T, I)
    start = time.perf_counter()
    model = create(name, input_size=I, hidden_size=H).to(device).train()
    run = _timed(model, x)
    run()
    first = time.perf_counter() - start
    reference = _timed(_TorchLSTM(I, H).to(device).train(), x)
    for _ in range(warmup):
        run(), reference()
    times, ref_times = [], []
    for _ in range(reps):
        ref_times.append(reference())
        times.append(run())
    ms, ref_ms = statistics.median(times) * 1e3, statistics.median(ref_times) * 1e3
    return {"first_call_ms": first * 1e3, "ms": ms, "lstm_ms": ref_ms, "ratio": ms / ref_ms}
