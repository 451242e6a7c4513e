"""SST-2: binary sentiment of movie-review sentences and phrases, the GLUE version (Wang et al. 2018,
"GLUE: A Multi-Task Benchmark and Analysis Platform for NLU") of the Stanford Sentiment Treebank
(Socher et al. 2013, "Recursive Deep Models for Semantic Compositionality Over a Sentiment Treebank").

GLUE's test split has no labels, so the splits here are: a seeded hold-out of GLUE train for
validation (model selection), the rest of GLUE train for training, and GLUE dev (872 full sentences)
as the test split. GLUE train holds phrases as well as full sentences, some of them repeated; the
hold-out is drawn over distinct texts, so a text and all its copies fall on one side. (Phrases of one
review can still be split between the two sides: validation is for selection, the test split is the
clean, comparable number.)

The text is already lowercased and PTB-tokenised, so tokens are whitespace-separated words. The
vocabulary comes from the training part only: id 0 is `<pad>`, 1 is `<unk>` (any word not in it), then
the words seen at least `min_freq` times, most frequent first (ties alphabetical).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from itertools import chain, repeat
from pathlib import Path

import numpy as np
import torch

from benchbench.data.download import RemoteFile, fetch
from benchbench.data.registry import DATASETS, Splits
from benchbench.errors import BenchError

__all__ = ["FILES", "PAD", "UNK", "sst2"]

PAD, UNK = "<pad>", "<unk>"  # ids 0 and 1

_GLUE_ZIP = "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip#SST-2/"  # the canonical GLUE download
# The verified copy's source repository, pinned to a commit (train.tsv is its train_full.tsv).
_MIRROR = (
    "https://raw.githubusercontent.com/eyalbd2/Reproducing-AutoPrompt/"
    "6288fb5bec9c572f2492875ae0111df5b6daed11/glue_data/SST-2/"
)

FILES = {
    "train": RemoteFile(
        "sst2/train.tsv",
        (_GLUE_ZIP + "train.tsv", _MIRROR + "train_full.tsv"),
        "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1",
        3806081,
    ),
    "dev": RemoteFile(
        "sst2/dev.tsv",
        (_GLUE_ZIP + "dev.tsv", _MIRROR + "dev.tsv"),
        "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0",
        94931,
    ),
}

Example = tuple[torch.Tensor, int]  # (token ids (L,), label 0 = negative / 1 = positive)


@DATASETS.register("sst2")
def sst2(
    *,
    val_fraction: float = 0.05,
    seed: int = 0,
    min_freq: int = 1,
    train_size: int | None = None,
    val_size: int | None = None,
    test_size: int | None = None,
) -> Splits:
    """SST-2 as lists of `(LongTensor token ids (L,), int label)`: train / held-out val / GLUE dev as test.

    `val_fraction` of GLUE train's distinct texts (with all their rows) is held out for validation,
    chosen by `seed`; train and val are in a seeded shuffled order, test in file order.
    `min_freq`: fewer occurrences in the training part make a word `<unk>`.
    `train_size`, `val_size`, `test_size` keep only that many leading examples (None: all), for small
    budgets; the vocabulary always comes from the whole training part, so ids do not depend on them.
    meta: `vocab_size`, `num_classes` (2), `pad_index` (0), `unk_index` (1), `vocab` (id -> word).
    The examples are cached for the process and shared between calls: treat them as read-only.
    """
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, int | float) or not 0 < val_fraction < 1:
        raise BenchError(f"sst2: val_fraction must be a number between 0 and 1 (exclusive), got {val_fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise BenchError(f"sst2: seed must be an integer, got {seed!r}")
    _positive("min_freq", min_freq, optional=False)
    sizes = [_positive("train_size", train_size), _positive("val_size", val_size), _positive("test_size", test_size)]
    vocab, *parts = _build(fetch(FILES["train"]), fetch(FILES["dev"]), float(val_fraction), seed, min_freq)
    train, val, test = (list(part[:size]) for part, size in zip(parts, sizes))
    meta = {"vocab_size": len(vocab), "num_classes": 2, "pad_index": 0, "unk_index": 1, "vocab": list(vocab)}
    return Splits(train=train, val=val, test=test, meta=meta)


def _positive(name: str, value: int | None, *, optional: bool = True) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        left_out = " or left out (all)" if optional else ""
        raise BenchError(f"sst2: {name} must be a positive integer{left_out}, got {value!r}")
    return value


@functools.cache
def _read(path: Path) -> tuple[tuple[str, int], ...]:
    """(sentence, label) rows of a GLUE SST-2 train/dev file: tab-separated, one header, no quoting."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple((sentence, int(label)) for sentence, label in (line.rsplit("\t", 1) for line in lines[1:] if line))


@functools.cache
def _build(
    train_path: Path, dev_path: Path, val_fraction: float, seed: int, min_freq: int
) -> tuple[tuple[str, ...], tuple[Example, ...], tuple[Example, ...], tuple[Example, ...]]:
    """The vocabulary and the encoded train part, held-out val and test (GLUE dev), once per setting."""
    train_rows, val_rows = _hold_out(_read(train_path), val_fraction, seed)
    train_tokens = [sentence.split() for sentence, _ in train_rows]
    counts = Counter(chain.from_iterable(train_tokens))
    words = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
    vocab = (PAD, UNK, *words)
    ids = {word: i for i, word in enumerate(vocab)}

    def encode(part: Sequence[tuple[str, int]], tokens: list[list[str]] | None = None) -> tuple[Example, ...]:
        # One flat array, split into per-example views: far cheaper than a tensor per sentence.
        tokens = tokens if tokens is not None else [sentence.split() for sentence, _ in part]
        flat = list(chain.from_iterable(tokens))
        flat_ids = np.fromiter(map(ids.get, flat, repeat(1)), dtype=np.int64, count=len(flat))  # unknown -> 1
        examples = torch.from_numpy(flat_ids).split([len(t) for t in tokens])
        return tuple(zip(examples, (label for _, label in part), strict=True))

    return vocab, encode(train_rows, train_tokens), encode(val_rows), encode(_read(dev_path))


def _hold_out(
    rows: Sequence[tuple[str, int]], val_fraction: float, seed: int
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Split rows into (train part, held-out part), both in one seeded shuffled order.

    `val_fraction` of the distinct texts is held out with every row that repeats them, so no text is
    on both sides.
    """
    gen = torch.Generator().manual_seed(seed)
    texts = list(dict.fromkeys(sentence for sentence, _ in rows))  # distinct, in file order
    n_val = max(1, round(val_fraction * len(texts)))
    held = {texts[i] for i in torch.randperm(len(texts), generator=gen)[:n_val].tolist()}
    shuffled = torch.randperm(len(rows), generator=gen).tolist()
    train_rows = [rows[i] for i in shuffled if rows[i][0] not in held]
    val_rows = [rows[i] for i in shuffled if rows[i][0] in held]
    return train_rows, val_rows
