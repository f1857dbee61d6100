"""The report notebooks on generated funnels of real-data shapes (tests/shapes.py).

No SAL (MQL → SQO, disqualified competing), no SQO (SAL → won, lost competing), no lost
(MQL → won, nothing competing) and three competing outcomes named by the data (approved;
declined, cancelled, expired): every per-dataset notebook renders through
``qualmodel report`` with the data's own stage and outcome names, and the client report's
"expected never to convert" share equals the cure model's estimate where nothing competes
(no lost) — and is absent, with the reason, when the stated cure-model rule fails
(competing outcomes observed; short follow-up, no plateau).
"""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from shape_reports import NOTEBOOKS as RENDERED
from shapes import make_shape
from test_plan_matrix import _visible_text

from qualmodel import report
from qualmodel.core.i18n import fmt_shares
from qualmodel.journeys.outcomes import plan_outcomes
from qualmodel.survival.durations import time_to_event
from qualmodel.survival.headline import cure_support
from qualmodel.survival.models import cure_model

NOTEBOOKS = ["01-journeys", "02-time-to-sqo", "03-compare-criteria", "10-client-report"]
assert set(NOTEBOOKS) <= set(RENDERED)
#: shape → (start label, names that must appear in the 02 and 10 pages)
EXPECT = {
    "no_sal": ("MQL", ["SQO", "disqualified"]),
    "no_sqo": ("SAL", ["won", "lost"]),
    "no_lost": ("MQL", ["won"]),
    "three_competing": ("SAL", ["approved", "declined", "cancelled", "expired"]),
}


def _text(path) -> str:
    html = path.read_text(encoding="utf-8")
    html = re.sub(r"<(style|script)\b.*?</\1>", "", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", "", html))


def _render(tmp_path, j, name, notebooks):
    folder = j.write(tmp_path / name)
    summary = report.run_reports(
        None, journeys=folder, notebooks=notebooks, jobs=2, out=tmp_path / "r", progress=False
    )
    assert sorted(r.job.template.name for r in summary.results) == sorted(notebooks)
    return tmp_path / "r" / name


@pytest.mark.slow
@pytest.mark.parametrize("shape", list(EXPECT))
def test_every_notebook_renders_with_the_data_vocabulary(shape_reports, shape):
    j = make_shape(shape, n=250, seed=3)
    out = shape_reports(shape, j)  # the same renders test_plan_matrix.py reads
    first, names = EXPECT[shape]
    pages = {nb: _text(out / f"{nb}.html") for nb in NOTEBOOKS}
    for nb, text in pages.items():
        assert "Traceback" not in text and "Error:" not in text, nb
        assert f"{first}s" in text, (nb, first)
    for nb in ("02-time-to-sqo", "10-client-report"):
        for name in names:
            assert name in pages[nb], (nb, name)
    if first == "MQL":  # no report calls the MQLs "SALs" (markdown and outputs, not code)
        assert "SALs" not in pages["10-client-report"].split("Method")[0]
        journeys_text = _visible_text(out / "01-journeys.ipynb")
        assert not re.search(r"\bSALs?\b", journeys_text)
        assert not re.search(r"\bnone\b", journeys_text, flags=re.I)
    plan = plan_outcomes(j)
    tte = time_to_event(j, plan["start"], plan["target"], plan["competing"])
    client = pages["10-client-report"]
    assert "still open (no outcome by day 90)" in client
    summ = json.loads((out / "summary.json").read_text())
    metrics = summ["notebooks"]["10-client-report"]["metrics"]
    support = cure_support(tte)
    if plan["competing"]:  # a lost lead cannot be "expected never to convert" by a cure model
        assert not support.supported
        assert "expected never to" not in client
        assert (  # the reason is a caveat: the Method appendix says it in words
            "In these data it is not reported: competing outcome(s) "
            f"{', '.join(plan['competing_names'])} present: the cure model would treat those "
            "leads as if they could still convert."
        ) in client.split("Method")[-1]
        assert f"never_{plan['key']}" not in metrics
        return
    assert support.supported, support.why  # the no-lost shape has a plateau
    s = cure_model(tte).summary
    share, lo, hi = fmt_shares(
        s["cured_fraction"], s["cured_fraction_lower"], s["cured_fraction_upper"]
    )
    assert (
        f"{share} of {first}s are expected never to reach {plan['name']} (95% CI {lo}–{hi}"
    ) in client
    rec = metrics[f"never_{plan['key']}"]
    assert (rec["value"], rec["lower"], rec["upper"]) == (
        s["cured_fraction"],
        s["cured_fraction_lower"],
        s["cured_fraction_upper"],
    )


@pytest.mark.slow
def test_never_convert_is_absent_when_the_cure_rule_fails(tmp_path):
    j = make_shape("no_lost", n=250, cure=0.0, median=60, span=100, follow=20, seed=2)
    out = _render(tmp_path, j, "short", ["10-client-report"])
    client = _text(out / "10-client-report.html")
    assert "expected never to" not in client
    assert "In these data it is not reported: the leads are not followed long enough" in client
    summ = json.loads((out / "summary.json").read_text())
    assert "never_won" not in summ["notebooks"]["10-client-report"]["metrics"]
