"""benchbench: benchmark recurrent network families with automated hyperparameter search.

Kept free of heavy imports so that `bench --help` answers at once.
"""

__version__ = "0.1.0"
