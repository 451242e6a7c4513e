"""Penn Treebank on the real, verified files: $BENCH_DATA_DIR must hold ptb/ (fail, never skip)."""

import os
from pathlib import Path

import pytest
import torch

from benchbench.data import ptb as ptb_module
from benchbench.data.ptb import CHAR_FILES, EOS, WORD_FILES, ptb, ptb_char
from benchbench.data.registry import DATASETS
from benchbench.errors import BenchError

LINES = {"train": 42_068, "val": 3_370, "test": 3_761}
WORDS = {"train": 887_521, "val": 70_390, "test": 78_669}
UNKS = {"train": 45_020, "val": 3_485, "test": 4_794}
CHARS = {"train": 4_975_414, "val": 389_672, "test": 438_662}
SPLITS = ("train", "val", "test")


@pytest.fixture(autouse=True)
def real_files(tmp_path, monkeypatch):
    data_dir = os.environ.get("BENCH_DATA_DIR")
    if not data_dir:
        pytest.fail("BENCH_DATA_DIR is not set: point it at the verified data copies (BENCH_DATA_DIR=/work/shared/data)")
    for remote in (*WORD_FILES.values(), *CHAR_FILES.values()):
        if not (Path(data_dir) / remote.path).is_file():
            pytest.fail(f"{remote.path} is missing from BENCH_DATA_DIR={data_dir}; point it at the verified data copies")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # nothing may come from or go to a real cache


def _decode(stream, vocab):
    return [vocab[i] for i in stream.tolist()]


def test_both_levels_are_registered():
    assert DATASETS.get("ptb") is ptb and DATASETS.get("ptb-char") is ptb_char


def test_word_level_counts_and_vocabulary():
    splits = ptb()
    vocab = splits.meta["vocab"]
    assert splits.meta["vocab_size"] == len(vocab) == len(set(vocab)) == 10_000
    assert EOS in vocab and "<unk>" in vocab
    for split in SPLITS:
        stream = splits[split]
        assert stream.dtype == torch.long and stream.dim() == 1
        assert len(stream) == WORDS[split] + LINES[split]
        assert (stream == vocab.index(EOS)).sum() == LINES[split]
        assert (stream == vocab.index("<unk>")).sum() == UNKS[split]
        assert 0 <= stream.min() and stream.max() < 10_000
    # Most frequent first; every id occurs in train.
    counts = torch.bincount(splits.train, minlength=10_000)
    assert (counts > 0).all() and (counts[:-1] >= counts[1:]).all()


def test_word_stream_is_the_text_with_eos_per_line():
    splits = ptb()
    path = Path(os.environ["BENCH_DATA_DIR"]) / WORD_FILES["val"].path
    expected = [token for line in path.read_text().splitlines() for token in (*line.split(), EOS)]
    assert _decode(splits.val, splits.meta["vocab"]) == expected
    assert expected[:3] == ["consumers", "may", "want"]


def test_char_level_counts_vocabulary_and_agreement_with_word_level():
    chars, words = ptb_char(), ptb()
    vocab = chars.meta["vocab"]
    assert chars.meta["vocab_size"] == len(vocab) == 50 and EOS in vocab and "_" in vocab
    assert all(len(token) == 1 for token in vocab if token != EOS)
    for split in SPLITS:
        stream = chars[split]
        assert stream.dtype == torch.long and stream.dim() == 1
        assert len(stream) == CHARS[split] + LINES[split]
        assert (stream == vocab.index(EOS)).sum() == LINES[split]
    # Spelled out, the test stream is the word-level test stream ("_" is the space between words).
    spelled = "".join(_decode(chars.test, vocab)).replace("_", " ").split(EOS)
    word_lines = " ".join(_decode(words.test, words.meta["vocab"])).split(EOS)
    assert spelled == [line.strip() for line in word_lines]


def test_prefix_options_keep_the_full_vocabulary():
    full = ptb()
    small = ptb(train_tokens=1_000, eval_tokens=300)
    assert len(small.train) == 1_000 and len(small.val) == len(small.test) == 300
    assert torch.equal(small.train, full.train[:1_000]) and torch.equal(small.test, full.test[:300])
    assert small.meta["vocab"] == full.meta["vocab"]
    assert len(ptb(eval_tokens=10**9).val) == len(full.val)  # larger than the stream: all of it
    char = ptb_char(train_tokens=5)
    assert len(char.train) == 5 and len(char.val) == CHARS["val"] + LINES["val"]


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "100"])
def test_bad_prefix_options_are_user_errors(bad):
    with pytest.raises(BenchError, match="train_tokens must be a positive integer"):
        ptb(train_tokens=bad)
    with pytest.raises(BenchError, match="eval_tokens"):
        ptb_char(eval_tokens=bad)


def test_parsing_happens_once_per_process():
    ptb()
    before = ptb_module._parse.cache_info()
    ptb(train_tokens=10)
    after = ptb_module._parse.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses
