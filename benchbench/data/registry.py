"""The dataset registry: name -> function(**options) returning `Splits`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from benchbench.registry import Registry

__all__ = ["DATASETS", "Sequences", "Splits", "available_memory", "check_fits"]


def available_memory() -> int | None:
    """Bytes of memory this machine can still give (Linux's MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_fits(nbytes: int, what: str, *, smaller: str) -> None:
    """Refuse, in one line, data whose tensors would take more memory than this machine has free:
    `what` names the data, `smaller` the options that make it smaller."""
    from benchbench.errors import BenchError

    free = available_memory()
    if free is not None and nbytes > 0.8 * free:
        raise BenchError(
            f"{what} would take {nbytes / 2**30:,.1f} GiB, more than the {free / 2**30:,.1f} GiB of memory free here; "
            f"choose a smaller {smaller}"
        )



class Sequences(Sequence):
    """Sequences of real-valued steps of varying length, each step predicting the next one (a piano
    roll is one: frames of 88 keys). Item i is a (T_i, D) float tensor; every sequence has >= 2 steps,
    so it has at least one step to predict."""

    def __init__(self, items: Iterable[torch.Tensor]) -> None:
        self.items = tuple(items)
        for item in self.items:
            if item.dim() != 2 or len(item) < 2:
                raise ValueError(f"each sequence must be (T >= 2, D), got {tuple(item.shape)}")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]

    @property
    def lengths(self) -> list[int]:
        return [len(item) for item in self.items]

    @property
    def predicted_steps(self) -> int:
        """Steps with a target: all but the first of each sequence."""
        return sum(len(item) - 1 for item in self.items)


@dataclass(frozen=True)
class Splits:
    """A dataset's three splits, in one of the forms the batching of a task expects:

    - a `TensorDataset(inputs, targets)` of fixed-length examples (adding, forecasting windows, frames);
    - a 1-D LongTensor token stream (language modelling, batched for truncated BPTT);
    - a list of `(LongTensor token ids, int label)` pairs of varying length (sentence classification);
    - `Sequences` of (T_i, D) steps of varying length, each predicting the next (polyphonic music).
    """

    train: Any
    val: Any
    test: Any
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. vocab_size, target_scale, step_shape

    def __getitem__(self, split: str) -> Any:
        if split not in ("train", "val", "test"):
            raise KeyError(split)
        return getattr(self, split)


DATASETS: Registry = Registry("dataset")
