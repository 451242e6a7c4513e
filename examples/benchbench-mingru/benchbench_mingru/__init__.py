"""benchbench plugins: the minGRU and minLSTM cells of Feng et al. 2024 and a synthetic CSV task."""

from benchbench_mingru.cells import MinGRU, MinLSTM

__all__ = ["MinGRU", "MinLSTM"]
