"""The client report's executive summary (qualmodel.report.summary)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from qualmodel.experiment.mde import leads_for_proportions
from qualmodel.report.summary import (
    TRIAL_MAX_WEEKS,
    executive_summary,
    recommendation,
    summary_sentences,
    trial_length,
)
from qualmodel.survival.headline import CureSupport

PLAN = {
    "start": "sal_at", "target": "sqo_at", "competing": ["disqualified_at"],
    "start_name": "SAL", "name": "SQO", "competing_names": ["disqualified"],
}  # fmt: skip
TYPICAL = {"median": 21.04, "lower": 19.6, "upper": 23.2, "reached": 800, "horizon": 90.0}


def _split() -> pd.DataFrame:
    rows = [
        ("target", "SQO", "sqo", 0.5912, 0.57, 0.61),
        ("competing", "disqualified", "dq", 0.1634, 0.15, 0.18),
        ("open", "still open", "open", 0.2454, np.nan, np.nan),
    ]
    out = pd.DataFrame(rows, columns=["kind", "outcome", "key", "share", "lower", "upper"])
    out.attrs["cure"] = CureSupport(False, why="competing", details={"codes": [2]})
    return out


def _choice(best_recall: float = 0.58, changed: bool = True) -> pd.DataFrame:
    rows = {
        "criterion": ["seed", "best"], "n_leads": [2853, 2853], "n_won": [289, 289],
        "n_qualified": [425, 864], "precision": [0.21, 0.204], "precision_lo": [0.17, 0.18],
        "precision_hi": [0.25, 0.23], "recall": [0.294, best_recall], "per_week": [8.18, 16.7],
        "changed": [False, changed],
    }  # fmt: skip
    return pd.DataFrame(rows).set_axis(["baseline", "recommended"])


class _Crit:
    name = "best"
    description = "Demo completed and budget and need confirmed."


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z„“`*])", text.strip()) if s]


def test_summary_words_the_standing_speed_recommendation_and_trial():
    rec = recommendation(_choice(), criteria=[_Crit()])
    sentences = summary_sentences(_split(), PLAN, TYPICAL, 90.0, n_start=2853, rec=rec)
    assert len(sentences) == 4
    assert sentences[0] == (
        "Of the 2,853 SALs, 59% become SQOs within 90 days, 16% are disqualified, and 25% are "
        "still open."
    )
    assert sentences[1] == "Half of the SALs that became SQOs did so within 21.0 days."
    assert sentences[2].startswith(
        "We recommend the SQO definition “Demo completed and budget and need confirmed” "
        "(`best`): it would pass about 16.7 SQOs per week to sales instead of 8.2 today, "
        "20% of them won (now 21%), and catch 58% of the won deals (now 29%)."
    )
    # the trial: leads per arm of the two-proportion test on recall, weeks of the SAL flow
    n = math.ceil(leads_for_proportions(0.294, 0.58, 289 / 2853, 289 / 2853))
    weeks = math.ceil(2 * n / (8.18 * 2853 / 425))
    assert f"about {weeks} weeks ({n:,} SALs per definition)" in sentences[3]
    text = executive_summary(sentences)
    assert text.startswith("## Summary\n\n") and len(_sentences(text.split("\n\n", 1)[1])) == 4
    assert text.lower().count("recommend") == 2  # "We recommend …" and "the recommended definition"


def test_trial_length_follows_the_published_formula():
    """0.5 vs 0.6 with every lead counted: Fleiss' 387.3 → 388 per arm."""
    base = pd.Series({"n_leads": 1000, "n_won": 1000, "n_qualified": 1000, "recall": 0.5,
                      "per_week": 100.0})  # fmt: skip
    out = trial_length({"base": base, "recall": 0.6})
    assert out["n"] == 388 and out["weeks"] == pytest.approx(2 * 388 / 100)
    assert math.isnan(trial_length({"base": base, "recall": 0.5})["weeks"])


def test_kept_definition_and_a_difference_too_small_to_test():
    kept = recommendation(_choice(changed=False).assign(criterion=["seed", "seed"]))
    out = summary_sentences(_split(), PLAN, TYPICAL, 90.0, n_start=2853, rec=kept)
    assert out[2].startswith("We recommend keeping the current SQO definition `seed`")
    assert len(out) == 3
    tiny = recommendation(_choice(best_recall=0.2945))
    out = summary_sentences(_split(), PLAN, TYPICAL, 90.0, n_start=2853, rec=tiny)
    assert out[3].startswith(f"A trial would need more than {TRIAL_MAX_WEEKS:g} weeks")


def test_german_summary():
    rec = recommendation(_choice(), criteria=[_Crit()], lang="de")
    out = summary_sentences(_split(), PLAN, TYPICAL, 90.0, n_start=2853, rec=rec, lang="de")
    assert out[0] == (
        "Von den 2.853 SALs sind es 59\u00a0%, die innerhalb von 90 Tagen zu SQOs werden, und "
        "16\u00a0%, die disqualifiziert werden; 25\u00a0% sind noch offen."
    )
    assert (
        out[1] == "Die Hälfte der SALs, die zu SQOs wurden, schaffte es innerhalb von 21,0 Tagen."
    )
    assert out[2].startswith("Wir empfehlen die SQO-Definition „Demo completed")
    assert "Wochen" in out[3] and "SALs je Definition" in out[3]
    assert summary_sentences(_split(), PLAN, TYPICAL, 90.0, n_start=5, lang="de")[1:] == [out[1]]
