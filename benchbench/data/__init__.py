"""Datasets and generators; importing this package registers them all."""

from benchbench.data import adding, digits, lstnet, polyphonic, ptb, series, sst2, uci  # noqa: F401  (registration happens on import)
from benchbench.data.registry import DATASETS, Sequences, Splits

__all__ = ["DATASETS", "Sequences", "Splits"]
