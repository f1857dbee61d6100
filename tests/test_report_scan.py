"""The scanner of rendered outputs finds each kind of broken formatting, and only those."""

from __future__ import annotations

import pytest
from report_scan import findings, visible_text


@pytest.mark.parametrize(
    "text",
    [
        "share NaN here",
        "value nan",
        "-0% are still open",
        "difference -0.0 days",
        "p = 2.457e-02",
        " 45%|████",
        "journeys /work/data/x",
        "folder /tmp/pytest-1/maven",
        "340445.0 leads",
        "1,500.0 leads",
    ],
)
def test_each_broken_pattern_is_found(text):
    found = findings([text], "nb")
    assert len(found) == 1 and found[0].startswith("nb: "), found


@pytest.mark.parametrize(
    "text",
    [
        "financial nanny",
        "-0.05 points",
        "2024-01-05",
        "p < 0.001",
        "710 weeks",
        "14.0 days",
        "100.0%",
        "reports/maven/index.html",
        "02-time-to-sqo",
    ],
)
def test_clean_text_passes(text):
    assert findings([text], "nb") == []


def test_visible_text_drops_tags_scripts_and_styles():
    markup = "<style>.nan{}</style><td>1&nbsp;200</td><script>var nan</script>"
    assert "nan" not in visible_text(markup) and "1\u00a0200" in visible_text(markup)
