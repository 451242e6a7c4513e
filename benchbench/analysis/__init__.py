"""Reading results: every reader starts from one ResultSet (frame.py), read from a storage once, and
returns DataFrames and dataclasses; nothing here prints or renders.

    frame.py       the ResultSet: our studies, their trials, and one tidy frame of trials and seeds
    leaderboard.py one row per task x budget x family, ranked, against the naive baselines
    compare.py     which family wins across tasks; every family against a reference
    check.py       the regression baseline file: saved, loaded, checked
    importance.py  fANOVA importances of a study's hyperparameters
    show.py        the record of a study's best trial
"""
