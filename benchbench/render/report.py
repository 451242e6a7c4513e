"""One self-contained HTML report of a results folder. Reads results; never trains.

Across families, per budget (analysis/compare.py): a critical-difference diagram of the average ranks
over tasks, every family against a reference family as a task x family heat map, fANOVA importances
per task x family as one heat map, and the test metric against learning rate and hidden size per
family on one task (Greff et al. 2017, Figs. 4-6).

Per task and budget: the leaderboard (analysis/leaderboard.py, one table) and a comparison of
the families' test metric with 95% confidence intervals. Per study: its optimization history, the
validation curve of every trial (Lightning's CSV logs), fANOVA hyperparameter importances and a
parallel-coordinates plot. plotly.js is embedded once, inline in the page's head, so the page works
offline and every figure draws with that copy. A panel that cannot be drawn (too few trials, no
logs) shows a one-line note instead, and every section has a stable id and class.
"""

from __future__ import annotations

import html
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from benchbench.analysis.frame import ResultSet
from benchbench.analysis.leaderboard import BASELINE, MODEL, leaderboard
from benchbench.atomic import write_text_atomic
from benchbench.errors import BenchError
from benchbench.render.text import better, count, metric_label
from benchbench.stats import is_missing
from benchbench.store.names import is_fixed_label
from benchbench.store.storage import no_results

if TYPE_CHECKING:
    import optuna
    import plotly.graph_objects as go

__all__ = ["CONFIDENCE", "build_report", "write_report"]

CONFIDENCE = 0.95  # of the leaderboard's intervals, which the comparison draws
_HEIGHT = 360  # px, every figure (two per row)
_PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif;
       margin: 0 auto; padding: 1.5rem 2rem 4rem; max-width: 1400px; color: #1f2328; }
h1 { margin-bottom: .2rem; } h2 { margin-top: 2.5rem; border-bottom: 2px solid #d0d7de; padding-bottom: .3rem; }
h3 { margin: 2rem 0 .2rem; } h4 { margin: .2rem 0 .4rem; font-weight: 600; }
.meta, .summary { color: #59636e; margin-top: 0; }
nav ul { columns: 2; margin: .5rem 0; }
table.leaderboard { border-collapse: collapse; font-size: .9rem; margin: .8rem 0; }
table.leaderboard th, table.leaderboard td { border-bottom: 1px solid #d0d7de; padding: .3rem .6rem; text-align: right;
  white-space: nowrap; }
table.leaderboard th { background: #f6f8fa; white-space: normal; vertical-align: bottom; }
table.leaderboard td.text, table.leaderboard th.text { text-align: left; }
div.leaderboard { overflow-x: auto; }
table.leaderboard td.hparams { text-align: left; white-space: normal; min-width: 14rem;
  font-family: ui-monospace, monospace; font-size: .8rem; }
table.leaderboard tr.best td { background: #dafbe1; font-weight: 600; }
table.leaderboard tr.reference td { color: #59636e; font-style: italic; }
table.leaderboard tr.naive td { color: #59636e; }
table.leaderboard tr.below td { color: #cf222e; }
.panels { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 1rem; }
.panel { border: 1px solid #d0d7de; border-radius: 6px; padding: .6rem; min-width: 0; }
.comparison { max-width: 900px; }
.cd-diagram svg { max-width: 100%; height: auto; }
p.note { color: #59636e; font-style: italic; }
details.task > summary { cursor: pointer; } details.task > summary h2 { display: inline-block; margin: 1.2rem 0 .4rem; }
details.task[open] > summary h2 { margin-top: 2.5rem; }
"""


def _esc(text: Any) -> str:
    return html.escape(str(text))


def _slug(text: str) -> str:
    """An id-safe form of a task label or study name: `electricity[horizon=24]/gru/default` ->
    `electricity-horizon-24-gru-default`."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _finite(value: Any) -> bool:
    try:
        return value is not None and value is not pd.NA and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _num(value: Any, spec: str = ".4g") -> str:
    return format(float(value), spec) if _finite(value) else "—"


def _note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


class _Figures:
    """Turns plotly figures into HTML snippets that draw with the page's one copy of plotly.js, lazily:
    each figure is its JSON (without the template, which the page holds once) beside an empty div,
    drawn when it comes near the screen (an open section scrolled to), so a page of hundreds of
    figures opens at once and grows by each figure's data alone."""

    def __init__(self) -> None:
        self.count = 0
        self.importances: dict[str, Any] = {}  # study name -> fANOVA importances or why not (_fanova)

    def html(self, fig: go.Figure, div_id: str, *, height: int = _HEIGHT) -> str:
        import json

        from plotly.utils import PlotlyJSONEncoder

        fig.update_layout(height=height, title_text="", margin={"l": 60, "r": 20, "t": 30, "b": 50})
        spec = fig.to_plotly_json()
        spec["layout"].pop("template", None)  # the page's one copy (library) is used instead
        payload = json.dumps(spec, cls=PlotlyJSONEncoder, separators=(",", ":")).replace("</", "<\\/")
        self.count += 1
        return (
            f'<div class="figure"><div class="plotly-graph-div lazy" id="{div_id}" style="height:{height}px"></div>'
            f'<script type="application/json" data-figure="{div_id}">{payload}</script></div>'
        )

    def library(self) -> str:
        """plotly.js itself, inline, for the page's head, with the one template every figure uses and
        the script that draws each figure when it comes near the screen: nothing is fetched from
        the network."""
        import json

        import plotly.io as pio
        from plotly.offline import get_plotlyjs
        from plotly.utils import PlotlyJSONEncoder

        if not self.count:
            return ""
        template = json.dumps(pio.templates["plotly_white"].to_plotly_json(), cls=PlotlyJSONEncoder, separators=(",", ":"))
        config = json.dumps(_PLOTLY_CONFIG)
        return (
            f'<script type="text/javascript">{get_plotlyjs()}</script>'
            f"<script>const BENCH_TEMPLATE={template}, BENCH_CONFIG={config};{_DRAW_JS}</script>"
        )


# Draws a figure when it nears the screen (IntersectionObserver; a closed <details> shows nothing, so
# its figures wait until it is opened), opens the section a link or the address's #anchor points into.
_DRAW_JS = """
function benchDraw(div) {
  if (div.dataset.drawn) return;
  div.dataset.drawn = "1";
  const spec = JSON.parse(document.querySelector('script[data-figure="' + div.id + '"]').textContent);
  spec.layout.template = BENCH_TEMPLATE;
  Plotly.newPlot(div, spec.data, spec.layout, BENCH_CONFIG);
}
function benchOpen(id) {
  let node = document.getElementById(id);
  while (node) { if (node.tagName === "DETAILS") node.open = true; node = node.parentElement; }
}
document.addEventListener("DOMContentLoaded", () => {
  const seen = new IntersectionObserver((entries) => entries.forEach((e) => {
    if (e.isIntersecting) { seen.unobserve(e.target); benchDraw(e.target); }
  }), {rootMargin: "600px"});
  document.querySelectorAll("div.plotly-graph-div.lazy").forEach((div) => seen.observe(div));
  document.querySelectorAll('a[href^="#"]').forEach((a) => a.addEventListener("click", () => benchOpen(a.getAttribute("href").slice(1))));
  if (location.hash) benchOpen(location.hash.slice(1));
  const all = (open) => document.querySelectorAll("details.task").forEach((d) => { d.open = open; });
  document.getElementById("expand-all")?.addEventListener("click", () => all(true));
  document.getElementById("collapse-all")?.addEventListener("click", () => all(false));
});
"""


def _integer_ticks(count: int) -> dict[str, Any]:
    """Axis settings for epochs or trial numbers: whole numbers only, at most about ten ticks."""
    return {"tick0": 0, "dtick": max(1, math.ceil(count / 10))}


def _panel(kind: str, name: str, title: str, body: str) -> str:
    return f'<div class="panel {kind}" id="{kind}-{_slug(name)}"><h4>{_esc(title)}</h4>{body}</div>'


# --- leaderboard -------------------------------------------------------------------------------------


# The leaderboard's display columns the report shows, in order; extra test metrics follow `vs naive`.
_TABLE = ["#", "model", "val", "test", "95% CI", "seeds", "vs best", "vs naive", "params", "trials c/p/f", "time"]


def _leaderboard_table(frame: pd.DataFrame, label: str) -> str:
    """One task x budget of the leaderboard as an HTML table: the leaderboard's display frame (the
    same text as the terminal table and Markdown), rows classed best / below / naive / reference."""
    from benchbench.render.leaderboard import DISPLAY, display

    text = display(frame)
    at = _TABLE.index("vs naive") + 1
    columns = _TABLE[:at] + [c for c in text.columns if c not in DISPLAY] + _TABLE[at:]
    headers = {"val": f"val {label}", "test": f"test {label} (mean ± sd)"}
    left = {"model", "vs best", "vs naive"}

    def th(name: str) -> str:
        return f'<th class="text">{_esc(headers.get(name, name))}</th>' if name in left else f"<th>{_esc(headers.get(name, name))}</th>"

    def td(name: str, value: str) -> str:
        return f'<td class="text">{_esc(value)}</td>' if name in left else f"<td>{_esc(value)}</td>"

    body = "".join(
        f'<tr class="{row["style"]}">' + "".join(td(c, row[c]) for c in columns)
        + f'<td class="hparams">{_esc(row["note"] or row["hyperparameters"])}</td></tr>'
        for _, row in text.iterrows()
    )  # fmt: skip
    header = "".join(th(c) for c in columns) + '<th class="text">hyperparameters · notes</th>'
    return f'<table class="leaderboard"><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>'


# --- family comparison -------------------------------------------------------------------------------


def _estimate(row: pd.Series) -> tuple[float, float | None, float | None, int] | None:
    """(test value, CI low, CI high, seeds) of one family, exactly as the leaderboard has them (its
    interval over the final evaluation's seeds of the selected configuration), or the best trial's
    test value alone; None without any test value."""
    seeds = int(row["n_seeds"]) if _finite(row.get("n_seeds")) else 0
    if _finite(row.get("test_ci_low")) and _finite(row.get("test_ci_high")):
        return float(row["test_mean"]), float(row["test_ci_low"]), float(row["test_ci_high"]), seeds
    if _finite(row.get("test_mean")):
        return float(row["test_mean"]), None, None, seeds
    return None


def _comparison(figures: _Figures, group: pd.DataFrame, key: str) -> str:
    import plotly.graph_objects as go

    naive = group[group["kind"] == BASELINE] if "kind" in group.columns else group.iloc[:0]
    group = group.drop(naive.index)
    first = group.iloc[0]
    estimates = {row["model"]: _estimate(row) for _, row in group.iterrows()}
    points = {model: e for model, e in estimates.items() if e is not None}
    title = f"test {metric_label(first['metric'], first['units'])} by family, {CONFIDENCE:.0%} confidence intervals"
    if not points:
        return _panel("comparison", key, title, _note("no complete trial yet: nothing to compare"))
    models = list(points)
    y = [points[m][0] for m in models]
    fig = go.Figure(
        go.Scatter(
            x=models, y=y, mode="markers", marker={"size": 11},
            error_y={
                "type": "data", "symmetric": False, "thickness": 2, "width": 8,
                # a log-scale interval is asymmetric and may sit beside a skewed mean: clip, never a negative bar
                "array": [None if points[m][2] is None else max(points[m][2] - points[m][0], 0.0) for m in models],
                "arrayminus": [None if points[m][1] is None else max(points[m][0] - points[m][1], 0.0) for m in models],
            },
            customdata=[[points[m][3]] for m in models],
            hovertemplate="%{x}: %{y:.4g} (%{customdata[0]} seed(s))<extra></extra>",
            name="test",
        )
    )  # fmt: skip
    # Every naive baseline as a dashed line, labelled at alternate ends and sides (two close baselines'
    # labels would otherwise overlap).
    for i, (_, row) in enumerate(naive.sort_values("test").iterrows()):
        fig.add_hline(
            y=float(row["test"]), line_dash="dash", line_color="#888",
            annotation_text=f"naive: {row['model']}", annotation_position=("bottom left", "top right")[i % 2],
        )  # fmt: skip
    # Categories sit half a slot in from the edges, so two families are not pinned to the frame.
    fig.update_layout(
        xaxis_title="family",
        xaxis_range=[-0.5, len(models) - 0.5],
        yaxis_title=f"test {first['metric']}",
        showlegend=False,
    )
    lone = [m for m in models if points[m][1] is None]
    notes = [f"{m}: {points[m][3]} seeds" for m in models if points[m][1] is not None]
    body = figures.html(fig, f"fig-comparison-{key}")
    if notes:
        body += _note(
            "error bars over the final evaluation's seeds of the best configuration (for a positive metric "
            "the interval of the geometric mean, computed on log values) · " + ", ".join(notes)
        )
    if lone:
        body += _note(
            f"no interval for {', '.join(lone)}: one test value (too few seeds for an interval), no evaluation over seeds yet"
        )
    return _panel("comparison", key, title, body)


# --- per study ---------------------------------------------------------------------------------------


def _complete(study: optuna.Study) -> list:
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return [t for t in trials if _finite(t.value)]


def _history(figures: _Figures, study: optuna.Study, complete: list) -> str:
    from optuna.visualization import plot_optimization_history

    title = "optimization history (validation value per trial)"
    if not complete:
        return _panel("history", study.study_name, title, _note("no complete trial yet"))
    fig = plot_optimization_history(study)
    fig.update_xaxes(**_integer_ticks(len(study.trials)))
    fig.update_yaxes(title_text=f"val {study.user_attrs.get('metric', '')}")
    # Above the plot, where no trial's point can hide under it.
    fig.update_layout(legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0})
    return _panel("history", study.study_name, title, figures.html(fig, f"fig-history-{_slug(study.study_name)}"))


def _curve(path: Path, column: str) -> pd.Series | None:
    """The validation metric per epoch from one trial's Lightning CSV log (its last value per epoch)."""
    try:
        log = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    if column not in log.columns or "epoch" not in log.columns:
        return None
    values = log.dropna(subset=[column]).groupby("epoch")[column].last()
    return values if not values.empty else None


def _curves(figures: _Figures, results: Path, study: optuna.Study) -> str:
    """Validation value per epoch of every trial: the intermediate values the pruner saw, from the
    storage (so a sweep run by workers on other machines draws too); from the results folder's
    Lightning CSV logs for studies that report none (`bench train` runs)."""
    import plotly.graph_objects as go
    from optuna.trial import TrialState
    from optuna.visualization import plot_intermediate_values

    metric = study.user_attrs.get("metric", "")
    title = f"learning curves (validation {metric} per epoch)"
    trials = study.get_trials(deepcopy=False)
    if any(t.intermediate_values for t in trials):
        fig = plot_intermediate_values(study)
        epochs = max((max(t.intermediate_values) + 1 for t in trials if t.intermediate_values), default=1)
        fig.update_xaxes(title_text="epoch", **_integer_ticks(epochs))  # whole epochs, not a 0.2 step
        fig.update_yaxes(title_text=f"val {metric}")
        return _panel("curves", study.study_name, title, figures.html(fig, f"fig-curves-{_slug(study.study_name)}"))
    logs = results / "logs" / study.study_name
    fig = go.Figure()
    for trial in study.get_trials(deepcopy=False):
        curve = _curve(logs / f"trial_{trial.number}" / "metrics.csv", f"val_{metric}")
        if curve is None:
            continue
        pruned = trial.state == TrialState.PRUNED
        label = f"trial {trial.number}{' (pruned)' if pruned else ''}"
        line = {"dash": "dot" if pruned else "solid"}
        fig.add_trace(go.Scatter(x=curve.index, y=curve.values, mode="lines+markers", name=label, line=line))
    if not fig.data:
        return _panel("curves", study.study_name, title, _note(f"no per-epoch logs under {logs}"))
    epochs = max(len(trace.x) for trace in fig.data)
    fig.update_xaxes(title_text="epoch", **_integer_ticks(epochs))
    fig.update_yaxes(title_text=f"val {metric}")
    return _panel("curves", study.study_name, title, figures.html(fig, f"fig-curves-{_slug(study.study_name)}"))


def _precomputed(importances: dict[str, float]):
    """An Optuna importance evaluator that returns importances already computed (by _fanova), so that
    plot_param_importances draws them without fitting fANOVA's forest a second time."""
    from optuna.importance import BaseImportanceEvaluator

    class Precomputed(BaseImportanceEvaluator):
        def evaluate(self, study, params=None, *, target=None) -> dict[str, float]:
            return dict(importances)

    return Precomputed()


def _importance(figures: _Figures, study: optuna.Study) -> str:
    from optuna.visualization import plot_param_importances

    title = "hyperparameter importance (fANOVA)"
    if study.user_attrs.get("kind") == "fixed" or is_fixed_label(study.user_attrs.get("budget")):
        return _panel("importance", study.study_name, title, _note("fixed configurations (bench train): no search, nothing to rank"))
    try:
        importances = _fanova(figures, study)
    except BenchError as err:  # withheld below MIN_TRIALS complete trials: the message says so in one line
        why = str(err) if str(err).startswith("importance withheld") else f"not computable: {err}"
        return _panel("importance", study.study_name, title, _note(why))
    # the importances were computed once above (also for the across-families heat map); plot them alone
    fig = plot_param_importances(study, evaluator=_precomputed(importances), params=list(importances))
    fig.update_layout(xaxis_title="share of the value's variance", xaxis_range=[0, 1], showlegend=False)
    return _panel("importance", study.study_name, title, figures.html(fig, f"fig-importance-{_slug(study.study_name)}"))


def _parallel(figures: _Figures, study: optuna.Study, complete: list) -> str:
    from optuna.visualization import plot_parallel_coordinate

    title = "hyperparameters of the complete trials (parallel coordinates)"
    if len(complete) < 2:
        return _panel(
            "parallel", study.study_name, title, _note(f"{len(complete)} complete trial(s): needs at least 2")
        )
    fig = plot_parallel_coordinate(study)
    for note in fig.layout.annotations or ():  # Optuna 5 writes each axis' tick labels as annotations
        if isinstance(note.text, str) and _is_number(note.text):
            note.text = _short(note.text)
    for dimension in getattr(fig.data[0], "dimensions", None) or () if fig.data else ():
        # Optuna labels log-scale axes with the raw values (0.0012345678901234): 3 significant digits
        if dimension.ticktext is not None:
            dimension.ticktext = [_short(t) for t in dimension.ticktext]
        elif dimension.tickvals is None:
            dimension.tickformat = ".3~g"
    return _panel("parallel", study.study_name, title, figures.html(fig, f"fig-parallel-{_slug(study.study_name)}"))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _short(tick: Any) -> str:
    try:
        return format(float(tick), ".3~g")
    except (TypeError, ValueError):
        return str(tick)


def _study_section(figures: _Figures, results: ResultSet, row: pd.Series) -> str:
    name = f"{row['task']}/{row['model']}/{row['budget']}"
    study = results.study(name)
    complete = _complete(study)
    best = f" · best val {_num(row['val'])} (trial {_num(row['best_trial'], '.0f')})" if _finite(row["val"]) else ""
    summary = (
        f"{row['trials']} trials: {row['complete']} complete, {row['pruned']} pruned, {row['failed']} failed{best}"
    )
    panels = (
        _history(figures, study, complete),
        _curves(figures, results.store.results, study),
        _importance(figures, study),
        _parallel(figures, study, complete),
    )
    return (
        f'<section class="study" id="study-{_slug(name)}"><h3>{_esc(row["model"])} <small>{_esc(name)}</small></h3>'
        f'<p class="summary">{_esc(summary)}</p><div class="panels">{"".join(panels)}</div></section>'
    )


# --- across families --------------------------------------------------------------------------------

_VERDICT_Z = {"significantly better": 1.0, "significantly worse": -1.0, "no significant difference": 0.0}
_VERDICT_SHORT = {"significantly better": "better", "significantly worse": "worse", "no significant difference": "n.s."}


def _fanova(figures: _Figures, study: optuna.Study) -> dict[str, float]:
    """fANOVA importances of a study, computed once per report (the study's panel and the heat map
    across families share them); a BenchError says why there are none."""
    from benchbench.analysis.importance import param_importances

    if study.study_name not in figures.importances:
        try:
            figures.importances[study.study_name] = param_importances(study)
        except BenchError as err:
            figures.importances[study.study_name] = err
    found = figures.importances[study.study_name]
    if isinstance(found, BenchError):
        raise found
    return found


def _critical_difference(comparison, budget: str) -> str:
    """Demšar's critical-difference diagram (scikit-posthocs, drawn by matplotlib as inline SVG)."""
    import io

    import scikit_posthocs as sp
    from matplotlib.figure import Figure

    from benchbench.render.compare import friedman_line

    title = "average rank across tasks: critical-difference diagram (Friedman, Nemenyi)"
    tests = comparison.tests[comparison.tests["budget"] == budget]
    test = tests.iloc[0] if not tests.empty else None
    if test is None or is_missing(test["friedman_p"]):
        why = "fewer than two families to compare" if test is None else friedman_line(test)
        return _panel("cd", budget, title, _note(why))
    ranks = comparison.ranks[comparison.ranks["budget"] == budget].set_index("model")["avg_rank"]
    pairs = comparison.pairwise[comparison.pairwise["budget"] == budget]
    families = list(ranks.index)
    matrix = pd.DataFrame(1.0, index=families, columns=families)
    for _, pair in pairs.iterrows():
        matrix.at[pair["model"], pair["versus"]] = matrix.at[pair["versus"], pair["model"]] = pair["p_nemenyi"]
    fig = Figure(figsize=(7.5, 1.2 + 0.28 * len(families)))
    ax = fig.add_subplot()
    sp.critical_difference_diagram(ranks, matrix, cd=float(test["critical_difference"]), ax=ax)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    body = f'<div class="figure cd-diagram">{svg}</div>' + _note(
        f"{friedman_line(test)}; average rank over the tasks every family ran (1 = best); a bar joins families "
        "whose ranks differ by less than Nemenyi's test can tell apart"
    )
    return _panel("cd", budget, title, body)


def _against_heatmap(figures: _Figures, comparison, budget: str, why: str) -> str:
    """Tasks x families, coloured by the verdict against the reference (Holm-corrected)."""
    import plotly.graph_objects as go

    title = f"against {comparison.reference}: significant differences per task (Holm-corrected)"
    rows = comparison.against[comparison.against["budget"] == budget] if comparison.reference else comparison.against
    if comparison.reference is None or rows.empty:
        return _panel("against", budget, title, _note(why))
    tasks, models = sorted(set(rows["task"])), sorted(set(rows["model"]))
    z = [[None] * len(models) for _ in tasks]
    text = [[""] * len(models) for _ in tasks]
    hover = [[""] * len(models) for _ in tasks]
    for _, r in rows.iterrows():
        i, j = tasks.index(r["task"]), models.index(r["model"])
        z[i][j] = _VERDICT_Z.get(r["verdict"])
        pct = "" if is_missing(r["diff_pct"]) else f"{r['diff_pct']:+.2g}%"
        text[i][j] = f"{pct}<br>{_VERDICT_SHORT.get(r['verdict'], r['verdict'])}"
        hover[i][j] = (
            f"{r['model']} on {r['task']}: {_num(r['mean'])} vs {_num(r['reference_mean'])} ({pct}); "
            f"{r['test'] or 'no test'} p={_num(r['p_value'], '.2g')}, Holm p={_num(r['p_holm'], '.2g')}"
        )
    fig = go.Figure(
        go.Heatmap(
            z=z, x=models, y=tasks, text=text, texttemplate="%{text}", textfont={"size": 10}, customdata=hover,
            hovertemplate="%{customdata}<extra></extra>", zmin=-1, zmax=1, xgap=2, ygap=2,
            colorscale=[[0, "#cf222e"], [0.5, "#eaeef2"], [1, "#2da44e"]], showscale=False,
        )
    )  # fmt: skip
    fig.update_layout(xaxis_title="family", yaxis_title="task", yaxis_autorange="reversed")
    body = figures.html(fig, f"fig-against-{_slug(budget)}") + _note(why)
    return _panel("against", budget, title, body)


def _importance_heatmap(figures: _Figures, results: ResultSet, group: pd.DataFrame, budget: str) -> str:
    """fANOVA importance of every hyperparameter, one row per task x family (Greff et al. 2017, Fig. 4)."""
    import plotly.graph_objects as go

    from benchbench.analysis.importance import MIN_TRIALS

    title = "hyperparameter importance (fANOVA) per task and family"
    rows, skipped = {}, []
    for _, row in group.sort_values(["task", "model"]).iterrows():
        study = results.study(f"{row['task']}/{row['model']}/{row['budget']}")
        try:
            rows[f"{row['task']} · {row['model']}"] = _fanova(figures, study)
        except BenchError:
            skipped.append(f"{row['task']} · {row['model']}")
    if not rows:
        return _panel("fanova", budget, title, _note(
            f"importance withheld: no study has {MIN_TRIALS} complete trials with varied hyperparameters, the fewest "
            f"from which fANOVA's forest tells hyperparameters apart"
        ))  # fmt: skip
    params = sorted({p for importances in rows.values() for p in importances})
    labels = list(rows)
    z = [[rows[label].get(p) for p in params] for label in labels]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=params, y=labels, zmin=0, zmax=1, colorscale="Blues", texttemplate="%{z:.2f}", textfont={"size": 12}, xgap=2, ygap=2,
            colorbar={"title": {"text": "share"}}, hovertemplate="%{y}: %{x} %{z:.3f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_layout(yaxis_autorange="reversed")
    body = figures.html(fig, f"fig-fanova-{_slug(budget)}", height=max(_HEIGHT, 40 + 22 * len(labels)))
    if skipped:  # a short line; the studies themselves folded away (a large sweep has dozens)
        body += (
            f'<details class="note"><summary>withheld for {count(len(skipped), "study", "studies")} '
            f"(fewer than {MIN_TRIALS} complete trials, or nothing varied)"
            f"</summary><p class=\"note\">{_esc(', '.join(skipped))}</p></details>"
        )
    return _panel("fanova", budget, title, body)


_HYPERPARAMETERS = (("lr", "learning rate"), ("hidden_size", "hidden size"))


def _hyperparameter_scatter(figures: _Figures, results: ResultSet, group: pd.DataFrame, budget: str) -> str:
    """Test metric against learning rate and hidden size per family on the task most families ran
    (Greff et al. 2017, Figs. 5 and 6), from every complete search trial."""
    import plotly.graph_objects as go
    from optuna.trial import TrialState
    from plotly.subplots import make_subplots

    title = "test metric against learning rate and hidden size per family"
    counts = group.groupby("task")["model"].nunique()
    trials = group.groupby("task")["complete"].sum()
    if counts.empty:
        return _panel("hyperparams", budget, title, _note("no family has results"))
    task = max(counts.index, key=lambda t: (counts[t], trials[t], t))
    rows = group[group["task"] == task]
    first = rows.iloc[0]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04)
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    for n, (_, row) in enumerate(rows.sort_values("model").iterrows()):
        study = results.study(f"{row['task']}/{row['model']}/{row['budget']}")
        done = [
            t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if _finite(t.user_attrs.get("test"))
        ]  # fmt: skip
        colour = palette[n % len(palette)]
        for col, (param, _) in enumerate(_HYPERPARAMETERS, start=1):
            points = [(t.params[param], t.user_attrs["test"]) for t in done if _finite(t.params.get(param))]
            if points:
                fig.add_trace(
                    go.Scatter(
                        x=[p[0] for p in points], y=[p[1] for p in points], mode="markers", name=row["model"],
                        legendgroup=row["model"], showlegend=col == 1, marker={"color": colour, "size": 8, "opacity": 0.75},
                        hovertemplate=f"{row['model']}: {param}=%{{x:.3g}}, test %{{y:.4g}}<extra></extra>",
                    ),
                    row=1, col=col,
                )  # fmt: skip
    if not fig.data:
        return _panel("hyperparams", budget, title, _note(f"no complete trial on {task} has a learning rate or hidden size"))
    for col, (_, label) in enumerate(_HYPERPARAMETERS, start=1):
        fig.update_xaxes(title_text=label, type="log", row=1, col=col)
    fig.update_yaxes(title_text=f"test {metric_label(first['metric'], first['units'])}", row=1, col=1)
    body = figures.html(fig, f"fig-hyperparams-{_slug(budget)}")
    body += _note(f"task {task} (the one most families ran), {better(first['direction'])} is better; one point per complete search trial")
    return _panel("hyperparams", budget, title, body)


def _families(
    figures: _Figures, results: ResultSet, frame: pd.DataFrame, against: str | None
) -> tuple[str, list[str]]:
    """One section per budget that holds two or more families: the critical-difference diagram, the
    comparison with a reference family as a heat map, and the hyperparameter views across families.
    Returns the sections' HTML and their table-of-contents entries."""
    from benchbench.analysis.compare import analyse, default_reference

    models = frame[frame["kind"] == MODEL] if "kind" in frame.columns else frame
    sections, links = [], []
    for budget, group in models.groupby("budget", sort=True):
        budget = str(budget)
        if group["model"].nunique() < 2:
            continue
        reference = against if against in set(group["model"]) else default_reference(sorted(set(group["model"])))
        comparison = analyse(group, results.evaluation_seeds(group) if reference else {}, against=reference)
        if reference is None:
            why = "no peephole or lstm results: no reference family to compare with"
        elif reference == against:
            why = f"reference: {reference}, as asked"
        else:
            why = (
                f"reference: {reference}, chosen by default (peephole, Greff et al.'s vanilla LSTM and the baseline of "
                f"its variants, else lstm); green: significantly better than it, red: significantly worse, grey: no "
                f"significant difference (paired t-test over shared evaluation seeds, else Welch's; Holm-corrected)"
            )
        key = _slug(budget)
        heading = f"Across families · budget {budget}"
        links.append(f'<li><a href="#families-{key}">{_esc(heading)}</a></li>')
        panels = (
            _critical_difference(comparison, budget),
            _against_heatmap(figures, comparison, budget, why),
            _importance_heatmap(figures, results, group, budget),
            _hyperparameter_scatter(figures, results, group, budget),
        )
        sections.append(
            f'<section class="families" id="families-{key}"><h2>{_esc(heading)}</h2>'
            f'<p class="summary">{count(group["task"].nunique(), "task")} × {count(group["model"].nunique(), "family", "families")}; '
            f"which family wins across tasks, and by how much against {_esc(reference or 'a reference')} "
            f"(bench compare prints the same tests)</p>"
            f'<div class="panels">{"".join(panels)}</div></section>'
        )
    return "".join(sections), links


# --- the page ----------------------------------------------------------------------------------------


def build_report(results: ResultSet, *, against: str | None = None) -> str:
    """The report of every study of a ResultSet as one HTML page; a BenchError when there is none.
    Learning curves come from the results folder's logs."""
    store = results.store
    frame = leaderboard(results)
    if frame.empty:
        raise BenchError(no_results(store.label))
    figures = _Figures()
    sections, contents = [], []
    for (task, budget), group in frame.groupby(["task", "budget"], sort=True):
        key = _slug(f"{task}-{budget}")
        first = group.iloc[0]
        setting = f"fixed configurations (bench train), {budget}" if is_fixed_label(budget) else f"budget {budget}"
        heading = f"{task} · {setting} · {metric_label(first['metric'], first['units'])}, {better(first['direction'])} is better"
        contents.append(f'<li><a href="#task-{key}">{_esc(heading)}</a></li>')
        studies = "".join(
            _study_section(figures, results, row) for _, row in group.iterrows() if row.get("kind") != BASELINE
        )
        # One collapsible section per task x budget: the page opens as its table of contents.
        sections.append(
            f'<details class="task" id="task-{key}"><summary><h2>{_esc(heading)}</h2></summary>'
            f'<div class="leaderboard" id="leaderboard-{key}">{_leaderboard_table(group, metric_label(first["metric"], first["units"]))}</div>'
            f"{_comparison(figures, group, key)}{studies}</details>"
        )
    families, links = _families(figures, results, frame, against)
    contents = links + contents
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>benchbench report · {_esc(store.label)}</title><style>{_STYLE}</style>{figures.library()}</head><body>"
        f'<header id="overview"><h1>benchbench report</h1><p class="meta">{_esc(store.url and store.label or store.results.resolve())} · '
        f"{len(frame)} studies · generated {generated}</p>"
        f'<nav id="contents"><ul>{"".join(contents)}</ul>'
        '<p><button id="expand-all" type="button">expand every task</button> '
        '<button id="collapse-all" type="button">collapse every task</button></p></nav></header>'
        f"<main>{families}{''.join(sections)}</main></body></html>\n"
    )


def write_report(results: ResultSet, out: Path, *, against: str | None = None) -> Path:
    """Write the report of a ResultSet to `out` atomically; returns `out`."""
    page = build_report(results, against=against)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out, page)
    except OSError as err:
        raise BenchError(
            f"cannot write the report to {out} ({err.strerror}); pass --out FILE in a writable folder"
        ) from None
    return out
