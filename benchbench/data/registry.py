"""The dataset registry: name -> function(**options) returning `Splits`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from benchbench.registry import Registry

__all__ = ["DATASETS", "Splits"]


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
