"""SST-2 on the real, verified files: $BENCH_DATA_DIR must hold sst2/ (fail, never skip)."""

import os
from collections import Counter
from pathlib import Path

import pytest
import torch

from benchbench.data import sst2 as sst2_module
from benchbench.data.registry import DATASETS
from benchbench.data.sst2 import FILES, PAD, UNK, _hold_out, _read, sst2
from benchbench.errors import BenchError

TRAIN_ROWS, DEV_ROWS = 67_349, 872


@pytest.fixture(autouse=True)
def real_files(tmp_path, monkeypatch):
    data_dir = os.environ.get("BENCH_DATA_DIR")
    if not data_dir:
        pytest.fail("BENCH_DATA_DIR is not set: point it at the verified data copies (BENCH_DATA_DIR=/work/shared/data)")
    for remote in FILES.values():
        if not (Path(data_dir) / remote.path).is_file():
            pytest.fail(f"{remote.path} is missing from BENCH_DATA_DIR={data_dir}; point it at the verified data copies")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # nothing may come from or go to a real cache


def _rows(split):
    return _read(Path(os.environ["BENCH_DATA_DIR"]) / FILES[split].path)


def _check_encoding(examples, rows, vocab):
    """Every example is its row, word by word, with words outside the vocabulary as <unk>."""
    ids = {word: i for i, word in enumerate(vocab)}
    assert len(examples) == len(rows)
    for (tokens, label), (sentence, row_label) in zip(examples, rows):
        assert label == row_label and type(label) is int
        assert tokens.tolist() == [ids.get(word, 1) for word in sentence.split()]


def test_registered():
    assert DATASETS.get("sst2") is sst2


def test_counts_labels_and_meta():
    assert len(_rows("train")) == TRAIN_ROWS and len(_rows("dev")) == DEV_ROWS
    assert Counter(label for _, label in _rows("train")) == {0: 29_780, 1: 37_569}
    splits = sst2()
    assert len(splits.train) + len(splits.val) == TRAIN_ROWS and len(splits.test) == DEV_ROWS
    assert 3_349 <= len(splits.val) < 3_500  # 5% of 66,978 distinct texts, with their repeats
    assert sum(label for _, label in splits.test) == 444
    meta = splits.meta
    assert meta["num_classes"] == 2 and meta["pad_index"] == 0 and meta["unk_index"] == 1
    assert meta["vocab_size"] == len(meta["vocab"]) and meta["vocab"][:2] == [PAD, UNK]
    for split in ("train", "val", "test"):
        assert {label for _, label in splits[split]} == {0, 1}
        assert all(tokens.dtype == torch.long and tokens.dim() == 1 and len(tokens) > 0 for tokens, _ in splits[split])
        ids = torch.cat([tokens for tokens, _ in splits[split]])
        assert 1 <= ids.min() and ids.max() < meta["vocab_size"]  # <pad> never inside an example


def test_hold_out_is_disjoint_from_the_train_part_and_covers_every_row():
    train_rows, val_rows = _hold_out(_rows("train"), 0.05, 0)
    assert not {s for s, _ in train_rows} & {s for s, _ in val_rows}
    assert Counter(train_rows) + Counter(val_rows) == Counter(_rows("train"))


def test_vocabulary_comes_from_the_train_part_only():
    splits = sst2()
    vocab = splits.meta["vocab"]
    train_rows, val_rows = _hold_out(_rows("train"), 0.05, 0)
    train_words = {w for s, _ in train_rows for w in s.split()}
    assert set(vocab[2:]) == train_words
    held_only = {w for s, _ in val_rows for w in s.split()} - train_words
    dev_only = {w for s, _ in _rows("dev") for w in s.split()} - train_words
    assert held_only and dev_only  # both exist, and map to <unk>:
    _check_encoding(splits.train, train_rows, vocab)
    _check_encoding(splits.val, val_rows, vocab)
    _check_encoding(splits.test, _rows("dev"), vocab)  # GLUE dev, in file order


def test_min_freq_makes_rare_train_words_unknown():
    full, pruned = sst2(), sst2(min_freq=2)
    counts = Counter(w for s, _ in _hold_out(_rows("train"), 0.05, 0)[0] for w in s.split())
    assert pruned.meta["vocab"][2:] == [w for w in full.meta["vocab"][2:] if counts[w] >= 2]
    _check_encoding(pruned.test, _rows("dev"), pruned.meta["vocab"])


def test_same_seed_same_splits_other_seed_differs():
    first = sst2()
    sst2_module._build.cache_clear()  # rebuild from scratch, not from the in-process cache
    again = sst2()
    assert first.meta["vocab"] == again.meta["vocab"]
    for split in ("train", "val", "test"):
        assert len(first[split]) == len(again[split])
        assert all(torch.equal(a, b) and x == y for (a, x), (b, y) in zip(first[split], again[split]))
    rows = _rows("train")
    assert _hold_out(rows, 0.05, 7) == _hold_out(rows, 0.05, 7)
    assert _hold_out(rows, 0.05, 7)[1] != _hold_out(rows, 0.05, 8)[1]


def test_size_options_take_prefixes_and_keep_the_vocabulary():
    full = sst2()
    small = sst2(train_size=100, val_size=20, test_size=10)
    assert (len(small.train), len(small.val), len(small.test)) == (100, 20, 10)
    assert all(a is b for (a, _), (b, _) in zip(small.train, full.train[:100]))
    assert small.meta["vocab"] == full.meta["vocab"]
    assert len(sst2(test_size=10**6).test) == DEV_ROWS


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"val_fraction": 0}, "val_fraction"),
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"val_fraction": "0.1"}, "val_fraction"),
        ({"seed": 1.5}, "seed"),
        ({"min_freq": 0}, "min_freq"),
        ({"train_size": 0}, "train_size"),
        ({"val_size": -1}, "val_size"),
        ({"test_size": 2.0}, "test_size"),
    ],
)
def test_bad_options_are_user_errors(options, complaint):
    with pytest.raises(BenchError, match=complaint):
        sst2(**options)
