"""Where results live: the Optuna storage (a results folder's journal or an RDB URL), study names and
kinds, counted trials, locks and retries. Imports no torch and nothing above it (sweep, analysis,
render, cli), so every layer can read and write results through it.

    names.py      the one Kind enum, study names, task labels, seeds
    storage.py    StorageSpec: the journal of a results folder, or an RDB URL; opening it safely
    trials.py     which trials count towards a plan, which is best
    locks.py      file locks and the claim lock every worker of a study shares
    retry.py      dead workers' trials failed and queued again; heartbeats
    internals.py  every use of Optuna's private API, in one place
"""
