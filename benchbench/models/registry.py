"""The model registry: family name -> factory returning a backbone."""

from benchbench.registry import Registry

__all__ = ["MODELS"]

MODELS: Registry = Registry("model")
