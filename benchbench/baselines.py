"""Naive baselines: predictors with no learned recurrence, computed on a task's own splits.

Every number a family earns needs something to beat. A baseline here is *fitted on the training
split only* and then scored on validation and test through exactly the metric code the models use
(`metrics.METRICS`, de-normalised to the task's units by `metrics.in_units`), so RSE, CORR,
perplexity, bits per character, accuracy and BCE mean the same thing on both sides of the
comparison. A task spec names the baselines that fit it:

    baselines = [{ name = "persistence" }, { name = "seasonal-persistence", period = 24 }]

A baseline is `fit(data, **options) -> predict`, where `predict(x)` maps a batch of inputs to what
the task's head would output for it: values in the (normalised) units of the targets for
regression, logits for classification, language modelling and frame prediction.

| name | predicts | fits to |
| --- | --- | --- |
| `constant` | `value` (in the task's units; for next-frame tasks, each value's probability of being 1) for every target | nothing |
| `train-mean` | the mean training target (per series / per pixel and step) | train targets |
| `persistence` | the last observed value of each target series in the input window | nothing |
| `seasonal-persistence` | the value `period` steps before the target time | nothing |
| `majority-class` | the most frequent training label | train labels |
| `unigram` | each token's training frequency (add-one smoothed), whatever came before | train tokens |
| `last-frame` | the last conditioning frame, blended with the mean training frame by a weight chosen on train | train frames |
| `mean-frame` | the mean training frame of each predicted step | train frames |
| `key-frequency` | each key (value of a frame) on with its training frequency (add-one smoothed), whatever came before | train frames |
| `key-markov` | each key on with its training frequency given whether it was on in the previous frame (add-one smoothed) | train frame pairs |
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import TensorDataset

from benchbench.batching import is_sequences, is_stream, pad_sequences
from benchbench.data.registry import Splits
from benchbench.errors import BenchError
from benchbench.metrics import METRICS, in_units
from benchbench.registry import Registry
from benchbench.tasks import BaselineSpec

__all__ = ["BASELINES", "Baseline", "BaselineResult", "BaselineSpec", "evaluate_baseline"]

Tensor = torch.Tensor
Predict = Callable[[Any], Tensor]


@dataclass(frozen=True)
class Baseline:
    name: str
    fit: Callable[..., Predict]  # (data, **options) -> predict(inputs) -> head-space predictions
    description: str  # one line for tables and `bench list`


@dataclass(frozen=True)
class BaselineResult:
    val: float  # the task's metric on validation
    test: float  # the task's metric on test
    test_extra: dict[str, float]  # the task's other metrics on test
    wall_time: float  # seconds to fit and score


BASELINES: Registry[Baseline] = Registry("baseline")


def _register(name: str, description: str):
    def decorator(fit: Callable[..., Predict]) -> Callable[..., Predict]:
        BASELINES.register(name)(Baseline(name, fit, description))
        return fit

    return decorator


def _need(condition: bool, name: str, what: str) -> None:
    if not condition:
        raise BenchError(f"baseline {name!r} needs {what}; remove it from the task spec's baselines")


def _fixed(data: Splits, name: str) -> TensorDataset:
    _need(isinstance(data.train, TensorDataset), name, "fixed-length examples (inputs, targets)")
    return data.train


def _scale(data: Splits, width: int) -> tuple[Tensor, Tensor]:
    """(scale, offset) turning task units into the targets' normalised units: (v - offset) / scale."""
    scale = data.meta.get("target_scale")
    offset = data.meta.get("target_offset")
    scale = torch.ones(width) if scale is None else torch.as_tensor(scale).float()
    offset = torch.zeros(width) if offset is None else torch.as_tensor(offset).float()
    return scale, offset


@_register("constant", "the same value for every target")
def _constant(data: Splits, *, value: float) -> Predict:
    if is_sequences(data.train):  # next-frame tasks: `value` is each key's probability of sounding
        _need(0.0 < value < 1.0, "constant", "a probability strictly between 0 and 1 as its value on a next-frame task")
        logit = math.log(value / (1.0 - value))
        return lambda x: torch.full_like(x, logit)
    train = _fixed(data, "constant")
    shape = train.tensors[1].shape[1:]
    scale, offset = _scale(data, shape[-1])
    normalised = ((torch.full(shape, float(value)) - offset) / scale).float()
    return lambda x: normalised.expand(len(x), *shape)


@_register("train-mean", "the mean training target")
def _train_mean(data: Splits) -> Predict:
    targets = _fixed(data, "train-mean").tensors[1]
    mean = targets.double().mean(0).float()  # (D,) per target series
    return lambda x: mean.expand(len(x), *mean.shape)


def _channels(data: Splits, name: str) -> list[int]:
    channels = data.meta.get("target_channels")
    _need(channels is not None, name, "a dataset whose inputs carry the target series (meta target_channels)")
    return list(channels)


@_register("persistence", "the last observed value of each target series")
def _persistence(data: Splits) -> Predict:
    _fixed(data, "persistence")
    channels = _channels(data, "persistence")
    return lambda x: x[:, -1, channels]  # (B, D)


@_register("seasonal-persistence", "the value one period before the target time")
def _seasonal_persistence(data: Splits, *, period: int) -> Predict:
    _fixed(data, "seasonal-persistence")
    channels = _channels(data, "seasonal-persistence")
    window, horizon = data.meta.get("window"), data.meta.get("horizon")
    _need(window is not None and horizon is not None, "seasonal-persistence", "windowed forecasting data")
    # Inputs are rows [e - window, e) and the target row is e + horizon - 1, so the row one period
    # before the target is input step window + horizon - 1 - period.
    step = window + horizon - 1 - int(period)
    if not 0 <= step < window:
        raise BenchError(
            f"baseline seasonal-persistence: period {period} must lie between horizon {horizon} and "
            f"window + horizon - 1 = {window + horizon - 1}"
        )
    return lambda x: x[:, step, channels]  # (B, D)


@_register("majority-class", "the most frequent training label")
def _majority(data: Splits) -> Predict:
    _need(isinstance(data.train, list) and "num_classes" in data.meta, "majority-class", "labelled sentences")
    counts = torch.bincount(torch.tensor([label for _, label in data.train]), minlength=data.meta["num_classes"])
    logits = counts.double().clamp_min(1).log().float()  # (C,) argmax is the majority class
    return lambda x: logits.expand(len(x), -1)


@_register("unigram", "each token's training frequency, ignoring the context")
def _unigram(data: Splits) -> Predict:
    _need(is_stream(data.train) and "vocab_size" in data.meta, "unigram", "a token stream")
    counts = torch.bincount(data.train, minlength=data.meta["vocab_size"]).double() + 1.0  # add-one: no zero
    logits = (counts / counts.sum()).log().float()  # (V,) log-probabilities
    return lambda x: logits.expand(*x.shape, -1)


def _frames(data: Splits, name: str) -> tuple[Tensor, Tensor, int]:
    train = _fixed(data, name)
    _need("output_frames" in data.meta, name, "frame-prediction data")
    inputs, targets = train.tensors  # (N, in + out, P), (N, out, P)
    return inputs, targets, inputs.shape[1] - data.meta["output_frames"]


def _logit(p: Tensor) -> Tensor:
    return torch.logit(p.clamp(1e-6, 1 - 1e-6))


@_register("mean-frame", "the mean training frame of each predicted step")
def _mean_frame(data: Splits) -> Predict:
    _, targets, _ = _frames(data, "mean-frame")
    logits = _logit(targets.double().mean(0)).float()  # (out, P)
    return lambda x: logits.expand(len(x), *logits.shape)


@_register("last-frame", "the last conditioning frame, repeated (blended with the mean frame)")
def _last_frame(data: Splits) -> Predict:
    inputs, targets, given = _frames(data, "last-frame")
    mean = targets.mean(0)  # (out, P)
    steps = targets.shape[1]
    last = inputs[:, given - 1 : given].expand(-1, steps, -1)  # (N, out, P)
    # Repeating a frame of exact zeros and ones would score infinite cross-entropy wherever it is
    # wrong, so the frame is blended with the mean frame; the weight is the one best on train.
    weights = torch.linspace(0.0, 1.0, 41)[1:]
    losses = [
        torch.nn.functional.binary_cross_entropy(((1 - w) * last + w * mean).clamp(1e-6, 1 - 1e-6), targets).item()
        for w in weights
    ]
    w = float(weights[min(range(len(losses)), key=losses.__getitem__)])
    return lambda x: _logit((1 - w) * x[:, given - 1 : given].expand(-1, steps, -1) + w * mean)


def _rolls(data: Splits, name: str) -> tuple[Tensor, Tensor]:
    """Each training sequence's inputs and targets (steps 1..T-1 and 2..T), stacked: (N, D) twice."""
    _need(is_sequences(data.train), name, "sequences of frames (polyphonic music)")
    inputs = torch.cat([s[:-1] for s in data.train]).double()  # (N, D)
    targets = torch.cat([s[1:] for s in data.train]).double()  # (N, D)
    return inputs, targets


def _smoothed(on: Tensor, total: Tensor) -> Tensor:
    """log-odds of add-one (Laplace) estimates (on + 1) / (total + 2): never 0 or 1, so a key never
    heard in training costs a finite amount when it sounds in test."""
    p = (on + 1.0) / (total + 2.0)
    return (p / (1.0 - p)).log().float()


@_register("key-frequency", "each key on with its training frequency, whatever came before")
def _key_frequency(data: Splits) -> Predict:
    _, targets = _rolls(data, "key-frequency")
    logits = _smoothed(targets.sum(0), torch.tensor(float(len(targets))))  # (D,)
    return lambda x: logits.expand_as(x)


@_register("key-markov", "each key on with its training frequency given whether it was on one frame before")
def _key_markov(data: Splits) -> Predict:
    inputs, targets = _rolls(data, "key-markov")
    was_on = inputs > 0.5  # (N, D)
    after_on = _smoothed((targets * was_on).sum(0), was_on.sum(0).double())  # (D,) log-odds after a sounding key
    after_off = _smoothed((targets * ~was_on).sum(0), (~was_on).sum(0).double())  # (D,) after a silent one
    return lambda x: torch.where(x > 0.5, after_on, after_off)


def _batches(split: Any, size: int = 2048) -> Iterator[tuple[Any, Tensor]]:
    """(inputs, targets) chunks of a split, in the form the dataset gives it."""
    if is_stream(split):
        inputs, targets = split[:-1], split[1:]  # next-token prediction over the whole stream
        for i in range(0, len(inputs), size):
            yield inputs[i : i + size], targets[i : i + size]
    elif is_sequences(split):  # padded like the models' batches; the metric skips the padding
        for i in range(0, len(split), 16):
            yield pad_sequences(list(split[i : i + 16]))
    elif isinstance(split, TensorDataset):
        inputs, targets = split.tensors
        for i in range(0, len(inputs), size):
            yield inputs[i : i + size], targets[i : i + size]
    else:  # (token ids, label) pairs
        for i in range(0, len(split), size):
            chunk = split[i : i + size]
            yield [ids for ids, _ in chunk], torch.tensor([label for _, label in chunk])


def _score(predict: Predict, split: Any, metrics: list, *, regression: bool, scale, offset) -> list[float]:
    sums: list[Tensor | None] = [None] * len(metrics)
    with torch.no_grad():
        for x, y in _batches(split):
            pred = predict(x)
            if regression:
                pred, y = in_units(pred, y, scale, offset)
            for i, metric in enumerate(metrics):
                s = metric.stats(pred, y)
                sums[i] = s if sums[i] is None else sums[i] + s
    return [metric.finalize(s) for metric, s in zip(metrics, sums, strict=True)]


def evaluate_baseline(spec: BaselineSpec, data: Splits, *, metric: str, extra_metrics=(), regression: bool) -> BaselineResult:
    """Fit `spec` on `data.train` and score it on validation and test with the task's metrics."""
    start = time.perf_counter()
    baseline = BASELINES.get(spec.name)
    try:
        predict = baseline.fit(data, **spec.options)
    except TypeError as err:
        raise BenchError(f"baseline {spec.name!r}: {err}") from None
    metrics = [METRICS.get(name) for name in (metric, *extra_metrics)]
    scale, offset = data.meta.get("target_scale"), data.meta.get("target_offset")
    kwargs = dict(regression=regression, scale=scale, offset=offset)
    (val, *_) = _score(predict, data.val, metrics[:1], **kwargs)
    test, *extra = _score(predict, data.test, metrics, **kwargs)
    for value in (val, test):
        if not math.isfinite(value):
            raise BenchError(f"baseline {spec.label}: {metric} is {value}; it does not fit this task")
    return BaselineResult(
        val=val,
        test=test,
        test_extra=dict(zip(extra_metrics, extra, strict=True)),
        wall_time=time.perf_counter() - start,
    )
