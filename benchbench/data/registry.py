"""The dataset registry: name -> function(**options) returning `Splits`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchbench.registry import Registry

__all__ = ["DATASETS", "Splits", "available_memory", "check_fits"]


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


@dataclass(frozen=True)
class Splits:
    """A dataset's three splits, in one of the forms the batching of a task expects:

    - a `TensorDataset(inputs, targets)` of fixed-length examples (adding, forecasting windows, frames);
    - a 1-D LongTensor token stream (language modelling, batched for truncated BPTT);
    - a list of `(LongTensor token ids, int label)` pairs of varying length (sentence classification).
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
