"""Where a trial runs and in what arithmetic: the `--precision` choices, the data of a trial placed on
its device once, and the device memory a finished trial gives back.

Precision goes to Lightning's precision plugin (`Trainer(precision=...)`): `32-true` is the default,
`64-true` trains in float64 (the plugin converts the module and every floating batch), `bf16-mixed`
and `16-mixed` run the forward pass under `torch.autocast` with float32 weights (`16-mixed` with a
gradient scaler, on CUDA only; `bf16-mixed` also on a CPU).

Several trials on one GPU (`--jobs N`) are N long-lived worker processes: each creates its CUDA
context once, for its first trial, and keeps it; between trials `release_memory` hands the cached
blocks of the finished trial back to the driver so that the other workers on that GPU can use them.
"""

from __future__ import annotations

import dataclasses
import gc
from typing import Any

from benchbench.errors import BenchError

__all__ = ["DEFAULT_PRECISION", "PRECISIONS", "check_precision", "on_device", "release_memory", "trial_device"]

DEFAULT_PRECISION = "32-true"
# Each choice with what it is, for the help text and the error that lists them.
PRECISIONS: dict[str, str] = {
    "32-true": "float32 (default)",
    "bf16-mixed": "bfloat16 autocast, float32 weights (CPU or GPU)",
    "16-mixed": "float16 autocast with a gradient scaler (CUDA only)",
    "64-true": "float64",
}


def check_precision(precision: str, *, cuda: bool | None = None) -> str:
    """`precision` if it is a choice this machine can train with; BenchError otherwise. `cuda`:
    whether a CUDA device is there (None: ask torch)."""
    if precision not in PRECISIONS:
        raise BenchError(f"unknown precision {precision!r}; choose one of: {', '.join(PRECISIONS)}")
    if precision == "16-mixed":
        if cuda is None:
            import torch

            cuda = torch.cuda.is_available()
        if not cuda:
            raise BenchError("--precision 16-mixed needs a CUDA GPU and none is visible here; use bf16-mixed (runs on a CPU) or 32-true")
    return precision


def trial_device():
    """The device Lightning's `accelerator="auto"` trains a trial on here: the current CUDA device
    when there is one (a `--jobs` worker sees only its own GPU), else the CPU."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


_PLACED: list[Any] = []  # [source splits, device, placed splits]: the last placement in this process


def on_device(splits, device):
    """The splits with every tensor-held split (fixed-length `TensorDataset`s, token streams) on
    `device`, moved once and kept for the next trial on the same splits, so that no batch is copied
    from the host while training; the list-held splits (sentences of varying length) stay where they
    are and are batched as before. On the CPU the splits are returned as they are."""
    import torch
    from torch.utils.data import TensorDataset

    device = torch.device(device)
    if device.type == "cpu":
        return splits
    if _PLACED and _PLACED[0] is splits and _PLACED[1] == device:
        return _PLACED[2]

    def move(split: Any) -> Any:
        if isinstance(split, TensorDataset):
            return TensorDataset(*(t.to(device) for t in split.tensors))
        if isinstance(split, torch.Tensor):
            return split.to(device)
        return split

    placed = dataclasses.replace(splits, train=move(splits.train), val=move(splits.val), test=move(splits.test))
    _PLACED[:] = [splits, device, placed]
    return placed


def release_memory() -> None:
    """After a trial: collect its garbage and, where CUDA was used in this process, return the
    allocator's cached blocks to the driver (`torch.cuda.empty_cache`), so that a worker between
    trials holds only its context and the data it placed, and other workers on the GPU get the rest."""
    import torch

    gc.collect()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()
