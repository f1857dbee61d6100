"""``qualmodel fit-score``: writes a loadable criteria YAML; bad input exits 2 in one line."""

from __future__ import annotations

import pandas as pd
import pytest
from test_criteria_scoring import _truth_journeys

from qualmodel import load_criteria
from qualmodel.cli import main
from qualmodel.criteria.scoring import fit_score_criterion


def test_cli_fit_score_writes_loadable_yaml(tmp_path, capsys):
    j = _truth_journeys(n=3000, seed=9)
    folder = j.write(tmp_path / "j")
    out = tmp_path / "fitted.yaml"
    coefs = tmp_path / "coefs.csv"
    main(
        [
            "fit-score", "--journeys", str(folder), "--out", str(out), "--outcome", "converted",
            "--attribute", "segment", "--coefficients", str(coefs), "--name", "fitted",
        ]
    )  # fmt: skip
    assert "criterion 'fitted' from 3000 leads" in capsys.readouterr().out
    crits = load_criteria(out, known_events=j.event_names)
    assert [c.name for c in crits] == ["fitted"]
    direct = fit_score_criterion(j, "converted", attributes=["segment"], name="fitted")
    assert crits[0].score == direct.criterion.score
    table = pd.read_csv(coefs)
    assert table["term"].iloc[0] == "intercept"


def test_cli_fit_score_bad_outcome_exit_2(tmp_path, capsys):
    folder = _truth_journeys(n=500, seed=9).write(tmp_path / "j")
    with pytest.raises(SystemExit) as info:
        main(["fit-score", "--journeys", str(folder), "--out", str(tmp_path / "x.yaml"),
              "--outcome", "nope"])  # fmt: skip
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "outcome column 'nope'" in err
    assert not (tmp_path / "x.yaml").exists()
