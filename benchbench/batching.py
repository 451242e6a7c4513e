"""Turning a split into batches, by the form the dataset gives it (see data.registry.Splits).

- `TensorDataset` of fixed-length examples: shuffled mini-batches, each indexed from the tensors at once.
- 1-D LongTensor token stream: cut into `batch_size` parallel streams and served in order as
  consecutive windows of `bptt` tokens (inputs, next-token targets), so the model's state can be
  carried from one batch to the next (truncated backpropagation through time).
- list of `(token ids, label)` pairs of varying length: batches of sentences of one length only, so
  no padding is ever needed and no prediction can depend on what else is in the batch, whatever the
  family (bidirectional ones included).
- `Sequences` of steps of varying length (piano rolls), each step predicting the next: sequences of
  similar length are grouped (`SequenceWindows`), padded at the end (inputs with 0, targets with
  `PAD`, which the loss and metric skip), and served as consecutive windows of `bptt` steps with a
  flag on each group's first window, so the state is carried through a group's windows and started
  afresh at the next group (truncated backpropagation through time over long sequences).

`GroupedBatches` serves any of these loaders' batches a few at a time, unchanged and in order, so
that training can run several optimizer steps per call of Lightning's loop (see training.py).

On a GPU the tensor-held splits are already on the device (device.on_device): a stream's windows are
views of it, and fixed-length examples are gathered there by `DeviceBatches`, so no batch waits on a
copy from the host.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import torch
from torch.utils.data import (
    BatchSampler, DataLoader, Dataset, IterableDataset, RandomSampler, Sampler, SequentialSampler, TensorDataset,
)  # fmt: skip

from benchbench.data.registry import Sequences

__all__ = [
    "PAD", "DeviceBatches", "GroupedBatches", "LengthBatches", "SequenceWindows", "StreamBatches", "is_sequences",
    "is_stream", "make_loader", "pad_sequences",
]  # fmt: skip

PAD = -1.0  # the target of a padded step: losses and metrics count only steps whose targets are >= 0
SIMILAR = 0.8  # a group holds sequences at least this fraction as long as its longest (padding <= 25%)
POOL = 4  # a training bucket holds up to POOL batches of similar length, mixed anew each epoch


def is_stream(data: Any) -> bool:
    return isinstance(data, torch.Tensor) and data.dim() == 1


def is_sequences(data: Any) -> bool:
    return isinstance(data, Sequences)


def pad_sequences(seqs: list[torch.Tensor], length: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs (B, L, D): steps 1..T-1 of each sequence, then zeros; targets (B, L, D): steps 2..T,
    then `PAD`. L is `length` - 1, by default the longest sequence's length - 1."""
    steps = (length or max(len(s) for s in seqs)) - 1
    x = torch.zeros(len(seqs), steps, seqs[0].shape[-1])  # (B, L, D)
    y = torch.full_like(x, PAD)  # (B, L, D)
    for i, s in enumerate(seqs):
        x[i, : len(s) - 1] = s[:-1]
        y[i, : len(s) - 1] = s[1:]
    return x, y


def _buckets(lengths: list[int], capacity: int) -> list[list[int]]:
    """Indices by length, longest first, cut into runs of at most `capacity` sequences each at least
    `SIMILAR` times as long as the run's first: padding to the run's longest wastes at most a quarter."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    buckets: list[list[int]] = []
    for i in order:
        if buckets and len(buckets[-1]) < capacity and lengths[i] >= SIMILAR * lengths[buckets[-1][0]]:
            buckets[-1].append(i)
        else:
            buckets.append([i])
    return buckets


class SequenceWindows(IterableDataset):
    """`Sequences` as padded groups of similar length, served as windows of `bptt` steps:
    `(inputs (B, W, D), targets (B, W, D), first)`, `first` True on a group's first window.

    Training (`shuffle`): each bucket of up to `POOL` batches of similar length is shuffled and cut
    into batches anew every epoch (seeded), all padded to the bucket's longest, so the number of
    windows is the same every epoch; the groups come in a shuffled order. Evaluation: buckets of
    one batch, longest first, in a fixed order.
    """

    def __init__(self, data: Sequences, *, batch_size: int, bptt: int, shuffle: bool, seed: int) -> None:
        if batch_size < 1 or bptt < 1:
            raise ValueError(f"batch_size and bptt must be >= 1, got {batch_size} and {bptt}")
        self.data, self.batch_size, self.bptt, self.shuffle = data, batch_size, bptt, shuffle
        self.seed, self.epoch = seed, 0
        self.lengths = data.lengths
        self.buckets = _buckets(self.lengths, batch_size * (POOL if shuffle else 1))

    def _windows(self, length: int) -> int:
        return -(-(length - 1) // self.bptt)

    def __len__(self) -> int:
        return sum(
            -(-len(bucket) // self.batch_size) * self._windows(self.lengths[bucket[0]]) for bucket in self.buckets
        )

    def groups(self) -> list[tuple[list[int], int]]:
        """This epoch's groups: (indices, padded length)."""
        gen = torch.Generator().manual_seed(self.seed + self.epoch)
        groups = []
        for bucket in self.buckets:
            if self.shuffle:
                bucket = [bucket[i] for i in torch.randperm(len(bucket), generator=gen).tolist()]
            longest = max(self.lengths[i] for i in bucket)
            groups += [(bucket[i : i + self.batch_size], longest) for i in range(0, len(bucket), self.batch_size)]
        if self.shuffle:
            groups = [groups[i] for i in torch.randperm(len(groups), generator=gen).tolist()]
            self.epoch += 1
        return groups

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, bool]]:
        for indices, length in self.groups():
            x, y = pad_sequences([self.data[i] for i in indices], length)  # (B, L, D) each
            for start in range(0, x.shape[1], self.bptt):
                yield x[:, start : start + self.bptt], y[:, start : start + self.bptt], start == 0


class StreamBatches(Dataset):
    """Consecutive (x, y) windows of a token stream laid out as `batch_size` parallel rows."""

    def __init__(self, stream: torch.Tensor, *, batch_size: int, bptt: int) -> None:
        columns = (len(stream) - 1) // batch_size  # the last token has no successor
        if columns < 1:
            raise ValueError(f"a stream of {len(stream)} tokens cannot fill {batch_size} rows")
        self.inputs = stream[: batch_size * columns].view(batch_size, columns)  # (B, N)
        self.targets = stream[1 : batch_size * columns + 1].view(batch_size, columns)  # (B, N)
        self.bptt = bptt

    def __len__(self) -> int:
        return -(-self.inputs.shape[1] // self.bptt)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        window = slice(i * self.bptt, (i + 1) * self.bptt)
        return self.inputs[:, window], self.targets[:, window]  # (B, L), (B, L)


class LengthBatches(Sampler[list[int]]):
    """Batches of indices whose sequences share one length; shuffled (seeded) when training."""

    def __init__(self, lengths: list[int], *, batch_size: int, shuffle: bool, seed: int) -> None:
        self.batch_size, self.shuffle, self.seed, self.epoch = batch_size, shuffle, seed, 0
        self.buckets: dict[int, list[int]] = defaultdict(list)
        for index, length in enumerate(lengths):
            self.buckets[length].append(index)

    def _batches(self) -> list[list[int]]:
        gen = torch.Generator().manual_seed(self.seed + self.epoch)
        batches = []
        for _, indices in sorted(self.buckets.items()):
            if self.shuffle:
                indices = [indices[i] for i in torch.randperm(len(indices), generator=gen).tolist()]
            batches += [indices[i : i + self.batch_size] for i in range(0, len(indices), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]
            self.epoch += 1
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches())

    def __len__(self) -> int:
        return sum(-(-len(v) // self.batch_size) for v in self.buckets.values())


class GroupedBatches:
    """A loader's batches as lists of `size` consecutive ones (the last list may be shorter): the same
    batches in the same order, fetched as the loader would serve them, one group at a time."""

    def __init__(self, loader: Iterable, size: int) -> None:
        if size < 1:
            raise ValueError(f"a group holds at least one batch, not {size}")
        self.loader, self.size = loader, size

    def __len__(self) -> int:
        return -(-len(self.loader) // self.size)

    def __iter__(self) -> Iterator[list[Any]]:
        # Never a batch past the loader's length: asking for one would draw from a shuffling
        # sampler's generator (RandomSampler's partial last pass), which Lightning's loop, stopping
        # at the length, never does, and the next epoch's order would differ.
        batches, count = iter(self.loader), len(self.loader)
        for start in range(0, count, self.size):
            yield list(islice(batches, min(self.size, count - start)))


def _same(batch: Any) -> Any:
    return batch


class _Positions(Dataset):
    """Stands in for a dataset of `n` examples: indexing it returns the indices themselves."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: Any) -> Any:
        return index


class DeviceBatches:
    """Batches of a `TensorDataset` whose tensors live on a GPU. The indices of a whole epoch are drawn
    by `indices`, a loader exactly like the host one (same sampler, same generator, same draws), moved
    to the device in one copy, and each batch is gathered there: the same batches in the same order,
    without a host-to-device copy (and the stream synchronisation a copy from pageable memory makes)
    per batch."""

    def __init__(self, data: TensorDataset, indices: DataLoader) -> None:
        self.tensors, self.indices = data.tensors, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        # This epoch's draws, and not one past the length (see GroupedBatches: a shuffling sampler's
        # partial last pass would draw from the generator and change the next epoch's order).
        draws = islice(self.indices, len(self.indices))
        batches = [torch.as_tensor(batch, dtype=torch.long) for batch in draws]
        if not batches:
            return
        order = torch.cat(batches).to(self.tensors[0].device)  # (N,): one copy per epoch
        for part in order.split([len(batch) for batch in batches]):
            yield tuple(t[part] for t in self.tensors)


def _stack_pairs(pairs: list[tuple[torch.Tensor, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.stack([ids for ids, _ in pairs]), torch.tensor([label for _, label in pairs])


def make_loader(
    data: Any, *, batch_size: int, shuffle: bool, seed: int, bptt: int = 35, gather_on_device: bool | None = None
) -> DataLoader | DeviceBatches:
    """A DataLoader for one split in whichever form the dataset gives it; for a `TensorDataset` on a
    GPU (or with `gather_on_device`), the same batches gathered on the device (`DeviceBatches`)."""
    if is_stream(data):
        return DataLoader(StreamBatches(data, batch_size=batch_size, bptt=bptt), batch_size=None, shuffle=False)
    if is_sequences(data):
        windows = SequenceWindows(data, batch_size=batch_size, bptt=bptt, shuffle=shuffle, seed=seed)
        return DataLoader(windows, batch_size=None)
    if isinstance(data, list):
        sampler = LengthBatches([len(ids) for ids, _ in data], batch_size=batch_size, shuffle=shuffle, seed=seed)
        return DataLoader(data, batch_sampler=sampler, collate_fn=_stack_pairs)
    if isinstance(data, TensorDataset):
        # A batch is one index into each tensor, not `batch_size` examples collated one by one; the
        # sampler and generator are the ones `shuffle=True` makes, so the batches are the same.
        generator = torch.Generator().manual_seed(seed) if shuffle else None
        order = RandomSampler(data, generator=generator) if shuffle else SequentialSampler(data)
        batches = BatchSampler(order, batch_size, drop_last=False)
        if gather_on_device if gather_on_device is not None else data.tensors[0].device.type != "cpu":
            indices = DataLoader(_Positions(len(data)), sampler=batches, batch_size=None, generator=generator, collate_fn=_same)
            return DeviceBatches(data, indices)
        return DataLoader(data, sampler=batches, batch_size=None, generator=generator, collate_fn=tuple)
    if isinstance(data, Dataset):
        generator = torch.Generator().manual_seed(seed) if shuffle else None
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator)
    raise TypeError(f"cannot batch a split of type {type(data).__name__}")
