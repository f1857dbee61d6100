"""Plot of a criteria search: the Pareto frontier of precision, recall and workload."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_frontier"]

_LABELS = {
    "x": "recall of wins (fit cohorts)",
    "y": "precision on wins (fit cohorts)",
    "workload": "SQOs per week",
    "candidates": "candidates",
    "frontier": "frontier",
    "winner": "recommended",
    "builtin": "built-in criteria",
    "title": "Searched SQO definitions",
    "capacity": "beyond capacity",
}


def plot_frontier(result, ax=None, labels: dict[str, str] | None = None):
    """Precision vs recall of every candidate, the frontier coloured by workload.

    Parameters
    ----------
    result : SearchResult
        Output of :func:`qualmodel.criteria.search.search_criteria`.
    ax : matplotlib.axes.Axes, optional
    labels : dict, optional
        Replacement texts for the keys of ``_LABELS`` (axis labels, legend, title), e.g.
        from a report locale.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    text = {**_LABELS, **(labels or {})}
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    cand = result.candidates
    ax.scatter(cand["recall"], cand["precision"], s=6, c="0.8", label=text["candidates"])
    front = result.frontier
    cap = result.settings.get("capacity_per_week")
    over = np.zeros(len(front), dtype=bool) if cap is None else front["per_week"].to_numpy() > cap
    sc = ax.scatter(
        front["recall"][~over],
        front["precision"][~over],
        c=front["per_week"][~over],
        cmap="viridis",
        s=22,
        label=text["frontier"],
    )
    if over.any():
        ax.scatter(
            front["recall"][over],
            front["precision"][over],
            s=22,
            facecolors="none",
            edgecolors="tab:red",
            label=text["capacity"],
        )
    ax.figure.colorbar(sc, ax=ax, label=text["workload"])
    win = cand[cand["winner"]]
    ax.scatter(
        win["recall"],
        win["precision"],
        marker="*",
        s=260,
        c="tab:orange",
        edgecolors="k",
        label=text["winner"],
        zorder=5,
    )
    if len(result.builtins):
        b = result.builtins
        ax.scatter(
            b["recall"],
            b["precision"],
            marker="D",
            s=40,
            c="tab:blue",
            label=text["builtin"],
            zorder=4,
        )
        # numbers at the points (names there overlap), the names in the legend
        for i, (_, row) in enumerate(b.iterrows(), start=1):
            ax.annotate(
                str(i),
                (row["recall"], row["precision"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
            ax.plot([], [], " ", label=f"{i}: {row['criterion']}")
    ax.set_xlabel(text["x"])
    ax.set_ylabel(text["y"])
    ax.set_title(text["title"])
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    return ax
