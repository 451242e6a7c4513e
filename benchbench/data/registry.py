"""The dataset registry: name -> function(options) returning {"train"|"val"|"test": Dataset}."""

from benchbench.registry import Registry

__all__ = ["DATASETS"]

DATASETS: Registry = Registry("dataset")
