"""Recurrent backbones, one module per family; importing this package registers them all.

`create(name, ...)` is the one way to build a backbone: the CLI, the sweep and the tests use it.
"""

from __future__ import annotations

import inspect
from typing import Any

from benchbench.models import clockwork, convlstm, gru, lstm, rnn  # noqa: F401  (registration happens on import)
from benchbench.models._base import Backbone
from benchbench.models.registry import MODELS
from benchbench.registry import first_line

__all__ = ["MODELS", "Backbone", "create", "describe", "is_bidirectional"]


def create(
    name: str,
    *,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    step_shape: tuple[int, ...] | None = None,
    **options: Any,
) -> Backbone:
    """Build the backbone registered as `name`: (B, T, input_size) -> (B, T, output_size), state.

    `step_shape` is the shape of one step before flattening (e.g. (C, H, W) for frames); inputs are
    always flattened to input_size features. Only families whose factory takes a `step_shape`
    parameter (the convolutional ones) receive it; the others read the flat vector.
    """
    factory = MODELS.get(name)
    if step_shape is not None and "step_shape" in inspect.signature(factory).parameters:
        options["step_shape"] = tuple(step_shape)
    return factory(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers, **options)


def describe() -> dict[str, str]:
    """Each registered family with the first line of its factory's docstring."""
    return {name: first_line(MODELS.get(name).__doc__) for name in MODELS}


def is_bidirectional(name: str) -> bool:
    """Whether family `name` reads each sequence in both directions (built tiny to ask it)."""
    return bool(create(name, input_size=4, hidden_size=8).bidirectional)
