"""Moving digits: a small, offline Moving MNIST (Srivastava et al. 2015; used by Shi et al. 2015,
"Convolutional LSTM Network") built from scikit-learn's bundled 8x8 handwritten digits.

Each sequence shows `digits` (1 or 2) digit images, intensities scaled from 0..16 to [0, 1],
moving inside a `frame_size` x `frame_size` frame (default 16). Each digit starts at a uniformly
random position with a velocity of fixed length `speed` (pixels per frame) in a uniformly random
direction, and bounces off the walls (a coordinate that would leave [0, frame_size - 8] is mirrored
back and that velocity component flips). Positions are real numbers and are rounded when drawn, so
every digit is always wholly inside the frame. Two digits are combined by the pixelwise maximum, so
frames stay in [0, 1].

A sequence is `input_frames` conditioning frames followed by `output_frames` frames to predict.
So that every recurrent family works without special cases, a model reads the conditioning
frames FOLLOWED BY `output_frames` blank (all-zero) frames, and its outputs at the last
`output_frames` steps are the predictions, scored per pixel by binary cross-entropy:

- inputs  (N, input_frames + output_frames, H * W): conditioning frames, then zeros;
- targets (N, output_frames, H * W): the true future frames, in [0, 1].

`meta = {"step_shape": (1, H, W), "output_frames": output_frames}`: a convolutional family reshapes
each step to (1, H, W); the head keeps the last `output_frames` steps.

Each split is generated from its own fixed seed, and the splits draw from disjoint sets of the
1,797 digit images (by index: train 0-1196, val 1197-1496, test 1497-1796), so validation and
test digits were never seen in training.
"""

from __future__ import annotations

import math
from functools import cache

import torch
from torch.utils.data import TensorDataset

from benchbench.data.registry import DATASETS, Splits, check_fits
from benchbench.errors import BenchError

__all__ = ["DIGIT_POOLS", "digit_images", "moving_digits", "moving_digits_sequences"]

DIGIT_POOLS = {"train": range(0, 1197), "val": range(1197, 1497), "test": range(1497, 1797)}
_SIDE = 8  # the sklearn digits are 8 x 8


@cache
def digit_images() -> torch.Tensor:
    """The 1,797 sklearn digit images, (1797, 8, 8) float32 in [0, 1]; cached, do not mutate."""
    from sklearn.datasets import load_digits

    return torch.from_numpy(load_digits().images / 16.0).float()


def moving_digits_sequences(
    n: int,
    *,
    seed: int,
    pool: range = DIGIT_POOLS["train"],
    digits: int = 1,
    frame_size: int = 16,
    frames: int = 10,
    speed: float = 1.5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` sequences of `frames` frames, (n, frames, frame_size, frame_size) in [0, 1], and the
    top-left corners of each digit, (n, frames, digits, 2) integer (row, col)."""
    limit = frame_size - _SIDE  # a corner lies in [0, limit]
    if n < 1 or frames < 1:
        raise BenchError(f"moving digits need a positive size and frame count, got n={n}, frames={frames}")
    if digits not in (1, 2):
        raise BenchError(f"moving digits: digits must be 1 or 2, got {digits!r}")
    if limit < 1:
        raise BenchError(f"moving digits: frame_size must exceed {_SIDE} (the digit's size), got {frame_size}")
    if not 0 < speed <= limit:
        raise BenchError(
            f"moving digits: speed must be in (0, {limit}] pixels per frame for frame_size={frame_size}, got {speed}"
        )
    gen = torch.Generator().manual_seed(seed)
    pool_t = torch.tensor(pool)
    images = digit_images()[pool_t[torch.randint(len(pool_t), (n, digits), generator=gen)]]  # (n, digits, 8, 8)
    pos = torch.rand(n, digits, 2, generator=gen, dtype=torch.float64) * limit  # (n, digits, 2) (row, col)
    angle = torch.rand(n, digits, generator=gen, dtype=torch.float64) * 2 * math.pi
    vel = speed * torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1)  # (n, digits, 2)

    corners = torch.empty(n, frames, digits, 2, dtype=torch.long)
    for t in range(frames):
        corners[:, t] = pos.round().long()
        pos = pos + vel
        low, high = pos < 0, pos > limit
        pos = torch.where(low, -pos, torch.where(high, 2 * limit - pos, pos))  # mirror at the walls
        vel = torch.where(low | high, -vel, vel)

    video = torch.zeros(n, frames, frame_size, frame_size)
    rows_n = torch.arange(n)[:, None, None]  # (n, 1, 1)
    offsets = torch.arange(_SIDE)
    for t in range(frames):
        for k in range(digits):
            r = (corners[:, t, k, 0, None] + offsets)[:, :, None]  # (n, 8, 1)
            c = (corners[:, t, k, 1, None] + offsets)[:, None, :]  # (n, 1, 8)
            frame = video[:, t]  # (n, H, W), a view
            frame[rows_n, r, c] = torch.maximum(frame[rows_n, r, c], images[:, k])
    return video, corners


@DATASETS.register("moving-digits")
def moving_digits(
    *,
    digits: int = 1,
    frame_size: int = 16,
    input_frames: int = 5,
    output_frames: int = 5,
    speed: float = 1.5,
    train_size: int = 4000,
    val_size: int = 1000,
    test_size: int = 1000,
    seeds: dict[str, int] | None = None,
) -> Splits:
    """Bouncing 8x8 digits (offline Moving MNIST): predict the next frames from the first ones."""
    seeds = {"train": 1, "val": 2, "test": 3} if seeds is None else dict(seeds)
    if set(seeds) != {"train", "val", "test"}:
        raise BenchError(f"moving-digits: seeds must give train, val and test, got {sorted(seeds)}")
    if input_frames < 1 or output_frames < 1:
        raise BenchError(
            f"moving-digits: input_frames and output_frames must be positive, got {input_frames}, {output_frames}"
        )
    sizes = {"train": train_size, "val": val_size, "test": test_size}
    # the video, its inputs copy and its targets, in float32
    check_fits(sum(sizes.values()) * (input_frames + output_frames) * frame_size**2 * 4 * 3, "moving digits", smaller="frame_size, frame count or split sizes")
    sets = {}
    for split, n in sizes.items():
        video, _ = moving_digits_sequences(
            n,
            seed=seeds[split],
            pool=DIGIT_POOLS[split],
            digits=digits,
            frame_size=frame_size,
            frames=input_frames + output_frames,
            speed=speed,
        )
        flat = video.flatten(2)  # (n, in + out, H * W)
        inputs = flat.clone()
        inputs[:, input_frames:] = 0.0  # the frames to predict are blank in the inputs
        sets[split] = TensorDataset(inputs, flat[:, input_frames:].clone())  # targets (n, out, H * W)
    return Splits(**sets, meta={"step_shape": (1, frame_size, frame_size), "output_frames": output_frames})
