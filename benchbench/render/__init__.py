"""Renderings: analysis frames and dataclasses turned into rich tables, CSV, Markdown, JSON and HTML.
Nothing here opens a storage; what a view needs arrives as a DataFrame or a ResultSet.

    text.py           number formats, direction arrows and words, metric labels, published references
    console.py        the rich console and fitting columns to a terminal
    leaderboard.py    the leaderboard's display frame, rich tables, Markdown, CSV, JSON; its files
    compare.py        the comparison across tasks and against a reference
    check.py          `bench check`'s table
    show.py           `bench show`'s record
    importance.py     `bench importance`'s bars
    results_table.py  the Markdown results table of a regression baseline file
    catalog.py        `bench list`
    report.py         the HTML report
"""
