"""The explorer and its exercises as ipywidgets for JupyterLab, with a static fallback.

A thin layer over :mod:`qualmodel.report.explorer` (computation) and
:mod:`qualmodel.report.exercises` (answers): every control change calls
:meth:`Explorer.update`, which asks :func:`~qualmodel.report.explorer.explore` for the
numbers and redraws one PNG figure and one table.

Displayed in a notebook, both objects offer the widget view *and* a static rendering:
JupyterLab (with a live kernel) shows the widgets; a rendered HTML page (papermill,
``qualmodel report``) shows the static part — the explorer's figure and table at their
default settings with a sentence saying the controls work in JupyterLab, and each exercise
with its answer folded away in a ``<details>`` block.
"""

from __future__ import annotations

import base64
from typing import Any

from qualmodel.core.errors import ConfigError
from qualmodel.core.i18n import check_lang, t
from qualmodel.report.exercises import Exercise, make_exercise
from qualmodel.report.explorer import (
    DEFAULT_N_LEADS,
    FAMILIES,
    Explored,
    Settings,
    explore,
    label,
    load_population,
    summary_table,
)
from qualmodel.report.explorer_plot import draw, figure_png
from qualmodel.simulation.scenario import list_scenarios, load_scenario

__all__ = ["CONTROL_RANGES", "ExerciseView", "Explorer", "exercise"]

#: Slider ranges: (min, max, step) of the numeric controls.
CONTROL_RANGES: dict[str, tuple[float, float, float]] = {
    "threshold": (5.0, 150.0, 5.0),
    "half_life_days": (0.0, 120.0, 5.0),
    "bant_k": (1, 4, 1),
}
_FAMILY_CONTROLS = {
    "points": ("threshold", "half_life_days"),
    "bant": ("bant_k",),
    "events": ("events",),
}


def _widgets() -> Any:
    import ipywidgets

    return ipywidgets


class Explorer:
    """Interactive SAL → SQO explorer on one simulated population per scenario / nurture.

    Parameters
    ----------
    scenario : str, default "startup_saas"
        Starting scenario (built-in name or YAML path; the dropdown offers the built-ins).
    n_leads : int, default 20,000
    seed : int, default 2026
    lang : str, default "en"
    horizon_days : float, default 90
        Horizon of the "by day N" numbers.

    Attributes
    ----------
    controls : dict of str to ipywidgets.Widget
        ``scenario, nurture, family, threshold, half_life_days, bant_k, events``.
    image : ipywidgets.Image
        The figure (PNG) of the current result.
    table : ipywidgets.HTML
        :func:`~qualmodel.report.explorer.summary_table` of the current result.
    result : Explored
        The current result (updated by every control change).
    """

    def __init__(
        self,
        scenario: str = "startup_saas",
        n_leads: int = DEFAULT_N_LEADS,
        seed: int = 2026,
        lang: str = "en",
        horizon_days: float = 90.0,
    ) -> None:
        w = _widgets()
        self.lang, self.n_leads, self.seed = check_lang(lang), n_leads, seed
        nurture = bool(load_scenario(scenario).nurture.enabled)
        self.initial = Settings(scenario=str(scenario), nurture=nurture, horizon_days=horizon_days)
        self._quiet = False
        self._figure: Any = None  # built on the first update, refilled afterwards
        self.controls = self._make_controls(w)
        self.image = w.Image(format="png")
        self.table = w.HTML()
        self.message = w.HTML()
        rows = [self.controls[k] for k in ("scenario", "nurture", "family")]
        rows += [self.controls[k] for k in ("threshold", "half_life_days", "bant_k", "events")]
        self.widget = w.VBox([w.VBox(rows), self.message, self.image, self.table])
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        self.result: Explored = self.apply(self.initial)

    def _make_controls(self, w: Any) -> dict[str, Any]:
        s, lang = self.initial, self.lang
        scenarios = list(list_scenarios()["name"])
        if s.scenario not in scenarios:
            scenarios.append(s.scenario)
        style = {"description_width": "12em"}

        def d(key: str) -> dict[str, Any]:
            return {"description": t(f"explorer.controls.{key}", lang), "style": style}

        def slider(cls: Any, key: str) -> Any:
            lo, hi, step = CONTROL_RANGES[key]
            value = getattr(s, key)
            return cls(value=value, min=lo, max=hi, step=step, continuous_update=False,
                       layout=w.Layout(width="40em"), **d(key))  # fmt: skip

        on_off = [(t(f"explorer.controls.{k}", lang), k == "on") for k in ("on", "off")]
        families = [(t(f"explorer.family.{f}", lang), f) for f in FAMILIES]
        return {
            "scenario": w.Dropdown(options=scenarios, value=s.scenario, **d("scenario")),
            "nurture": w.ToggleButtons(options=on_off, value=s.nurture, **d("nurture")),
            "family": w.ToggleButtons(options=families, value=s.family, **d("family")),
            "threshold": slider(w.FloatSlider, "threshold"),
            "half_life_days": slider(w.FloatSlider, "half_life_days"),
            "bant_k": slider(w.IntSlider, "bant_k"),
            "events": w.SelectMultiple(
                options=[], rows=6, layout=w.Layout(width="40em"), **d("events")
            ),
        }

    # -------------------------------------------------------------- state
    def settings(self) -> Settings:
        """Return the :class:`~qualmodel.report.explorer.Settings` the controls show now."""
        c = self.controls
        return self.initial.replace(
            scenario=c["scenario"].value,
            nurture=bool(c["nurture"].value),
            family=c["family"].value,
            threshold=float(c["threshold"].value),
            half_life_days=float(c["half_life_days"].value),
            bant_k=int(c["bant_k"].value),
            events=tuple(c["events"].value),
        )

    def _event_options(self, scenario: str, nurture: bool, chosen: tuple[str, ...]) -> None:
        pop = load_population(scenario, nurture, self.n_leads, self.seed)
        box = self.controls["events"]
        box.options = [*pop.signals, *pop.interest]
        keep = tuple(e for e in chosen if e in box.options)
        box.value = keep or pop.signals

    def apply(self, settings: Settings) -> Explored:
        """Move the controls to ``settings`` (one update, not one per control)."""
        self._quiet = True
        try:
            c = self.controls
            self._event_options(settings.scenario, settings.nurture, settings.events)
            for key in ("scenario", "nurture", "family", "threshold", "half_life_days", "bant_k"):
                c[key].value = getattr(settings, key)
        finally:
            self._quiet = False
        return self.update()

    def _changed(self, change: dict[str, Any]) -> None:
        if self._quiet:
            return
        if change["owner"] is self.controls["scenario"]:
            self._quiet = True
            try:
                self._event_options(change["new"], self.controls["nurture"].value, ())
            finally:
                self._quiet = False
        self.update()

    def update(self) -> Explored:
        """Recompute for the current controls and redraw (an invalid choice is explained)."""
        s = self.settings()
        for family, keys in _FAMILY_CONTROLS.items():
            for key in keys:
                self.controls[key].layout.display = None if family == s.family else "none"
        try:
            result = explore(load_population(s.scenario, s.nurture, self.n_leads, self.seed), s)
        except ConfigError as exc:
            self.message.value = f"<b>{t('explorer.invalid', self.lang)}</b> {exc}"
            return self.result
        self.message.value = ""
        self._figure = draw(result, self.lang, self._figure)
        self.image.value = figure_png(self._figure)
        self.table.value = summary_table(result, self.lang).to_html()
        self.result = result
        return result

    # -------------------------------------------------------------- display
    def static_html(self) -> str:
        """Return the rendered page's fallback: note, figure and table of the current result."""
        png = base64.b64encode(self.image.value).decode("ascii")
        note = t("explorer.static_note", self.lang, label=label(self.result, lang=self.lang))
        return (
            f'<p><em>{note}</em></p>\n<img src="data:image/png;base64,{png}" '
            f'alt="{t("explorer.plot.alt", self.lang)}"/>\n{self.table.value}'
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/html"] = self.static_html()
        bundle["text/plain"] = t("explorer.static_note", self.lang, label=label(self.result))
        return bundle


class ExerciseView:
    """One exercise: the question, a set-up button, and the answer folded away.

    Parameters
    ----------
    explorer : Explorer
        The explorer the set-up button moves (and whose population answers).
    key : str
        One of :data:`qualmodel.report.exercises.EXERCISES`.
    """

    def __init__(self, explorer: Explorer, key: str) -> None:
        w = _widgets()
        lang = explorer.lang
        self.explorer = explorer
        self.exercise: Exercise = make_exercise(
            key, explorer.initial, explorer.n_leads, explorer.seed, lang
        )
        self.question = w.Output()
        self.question.append_display_data(_markdown(self.exercise.question))
        self.setup = w.Button(description=t("explorer.setup", lang), icon="sliders")
        self.setup.on_click(lambda _b: explorer.apply(self.exercise.start))
        self.answer = w.Output()
        self.answer.append_display_data(_markdown(self.exercise.answer))
        self.reveal = w.Accordion(children=[self.answer], selected_index=None)
        self.reveal.set_title(0, t("explorer.reveal", lang))
        self.widget = w.VBox([self.question, self.setup, self.reveal])

    def static_markdown(self) -> str:
        """Question and answer (in a ``<details>`` block) for a rendered page."""
        summary = t("explorer.reveal", self.explorer.lang)
        return (
            f"{self.exercise.question}\n\n<details><summary>{summary}</summary>\n\n"
            f"{self.exercise.answer}\n\n</details>\n"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/markdown"] = self.static_markdown()
        bundle["text/plain"] = self.exercise.question
        return bundle


def _markdown(text: str) -> Any:
    from IPython.display import Markdown

    return Markdown(text)


def exercise(explorer: Explorer, key: str) -> ExerciseView:
    """Return the exercise ``key`` for ``explorer`` (display it as a cell's last value)."""
    return ExerciseView(explorer, key)
