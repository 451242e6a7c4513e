"""The adding problem (Hochreiter & Schmidhuber 1997), in the form of Le et al. 2015 ("A Simple Way
to Initialize Recurrent Networks of Rectified Linear Units") and Arjovsky et al. 2016 ("Unitary
Evolution Recurrent Neural Networks").

Each sequence has T steps of two channels: a value drawn from U[0, 1] and a marker. Exactly one
position in the first half and one in the second half are marked (marker = 1); the target is the
sum of the two marked values. Predicting 1 always scores E[(a + b - 1)^2] = Var(a + b) = 1/6.
"""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from benchbench.data.registry import DATASETS, Splits, check_fits
from benchbench.errors import BenchError

__all__ = ["adding", "adding_problem"]


def adding_problem(n: int, seq_len: int, *, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` sequences of length `seq_len`: inputs (n, T, 2) = (value, marker), targets (n, 1)."""
    if seq_len < 2 or n < 1:
        raise BenchError(f"adding problem needs seq_len >= 2 and a positive size, got seq_len={seq_len}, n={n}")
    gen = torch.Generator().manual_seed(seed)
    values = torch.rand(n, seq_len, generator=gen)  # (n, T)
    half = seq_len // 2
    first = torch.randint(0, half, (n,), generator=gen)  # one marker in [0, T/2)
    second = torch.randint(half, seq_len, (n,), generator=gen)  # one marker in [T/2, T)
    rows = torch.arange(n)
    markers = torch.zeros(n, seq_len)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    inputs = torch.stack([values, markers], dim=-1)  # (n, T, 2)
    targets = (values[rows, first] + values[rows, second]).unsqueeze(-1)  # (n, 1)
    return inputs, targets


@DATASETS.register("adding")
def adding(
    *, seq_len: int, train_size: int, val_size: int, test_size: int, seeds: dict[str, int]
) -> Splits:
    """Train/val/test sets of the adding problem, each generated from its own fixed seed."""
    sizes = {"train": train_size, "val": val_size, "test": test_size}
    if all(isinstance(n, int) and n > 0 for n in sizes.values()) and isinstance(seq_len, int) and seq_len > 0:
        # (n, T, 2) inputs plus the (n, T) values and markers they are stacked from, in float32
        check_fits(sum(sizes.values()) * seq_len * 4 * 4, f"the adding problem with seq_len={seq_len}", smaller="seq_len or split sizes")
    return Splits(**{split: TensorDataset(*adding_problem(n, seq_len, seed=seeds[split])) for split, n in sizes.items()})
