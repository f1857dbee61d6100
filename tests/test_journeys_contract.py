"""The Journeys contract: every rule rejected with a message naming column, ids and fix."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from qualmodel import ContractError, InputError, Journeys, simulate
from qualmodel.journeys.contract import STAGE_COLUMNS

T0 = pd.Timestamp("2025-01-01")
END = pd.Timestamp("2025-06-30")


def _leads(n: int = 3, **cols) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "lead_id": [f"L{i:03d}" for i in range(n)],
            "created_at": [T0 + pd.Timedelta(days=i) for i in range(n)],
            "observed_until": [END] * n,
        }
    )
    for k, v in cols.items():
        df[k] = v
    return df


def _events(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lead_id": [r[0] for r in rows],
            "ts": pd.to_datetime([r[1] for r in rows]),
            "event": [r[2] for r in rows],
        }
    )


def _ok_events() -> pd.DataFrame:
    return _events(
        [
            ("L000", "2025-01-02", "webinar_attended"),
            ("L000", "2025-01-05", "demo_completed"),
            ("L002", "2025-01-04", "newsletter_signup"),
        ]
    )


def test_valid_journeys_normalise_types():
    j = Journeys(_leads(), _ok_events(), {"source": "unit"})
    assert j.n_leads == 3 and j.n_events == 3
    assert isinstance(j.events["lead_id"].dtype, pd.CategoricalDtype)
    assert list(j.events["lead_id"].cat.categories) == ["L000", "L001", "L002"]
    assert j.event_lead_codes.tolist() == [0, 0, 2]
    assert j.event_names == ["demo_completed", "newsletter_signup", "webinar_attended"]
    assert str(j.leads["created_at"].dtype) == "datetime64[ns]"
    assert j.meta["source"] == "unit" and j.meta["time_unit"] == "days"
    assert "qualmodel_version" in j.meta


def test_build_sorts_leads_and_events():
    leads = _leads().iloc[[2, 0, 1]]
    events = _ok_events().iloc[[2, 1, 0]]
    with pytest.raises(ContractError, match="sorted by lead_id"):
        Journeys(leads, events)
    j = Journeys.build(leads, events)
    assert j.leads["lead_id"].tolist() == ["L000", "L001", "L002"]
    assert j.events["event"].astype(str).tolist() == [
        "webinar_attended",
        "demo_completed",
        "newsletter_signup",
    ]


@pytest.mark.parametrize("missing", ["lead_id", "created_at", "observed_until"])
def test_missing_required_lead_column(missing):
    with pytest.raises(ContractError, match=f"leads: missing required column\\(s\\) {missing}"):
        Journeys(_leads().drop(columns=[missing]), _ok_events())


@pytest.mark.parametrize("missing", ["lead_id", "ts", "event"])
def test_missing_required_event_column(missing):
    with pytest.raises(ContractError, match=f"events: missing required column\\(s\\) {missing}"):
        Journeys(_leads(), _ok_events().drop(columns=[missing]))


def test_lead_id_must_be_non_empty_string():
    leads = _leads()
    leads["lead_id"] = [1, 2, 3]
    with pytest.raises(ContractError, match="'lead_id' has dtype int64, expected str"):
        Journeys(leads, _ok_events())
    leads = _leads()
    leads.loc[1, "lead_id"] = ""
    with pytest.raises(ContractError, match="non-empty strings"):
        Journeys(leads, _ok_events())
    leads = _leads()
    leads.loc[1, "lead_id"] = None
    with pytest.raises(ContractError, match=r"'lead_id' is empty in row\(s\) 1"):
        Journeys(leads, _ok_events())


def test_duplicate_lead_ids_named():
    leads = _leads()
    leads.loc[2, "lead_id"] = "L001"
    with pytest.raises(ContractError, match="lead_id must be unique; duplicated: L001"):
        Journeys(leads, _events([]))
    with pytest.raises(ContractError, match="duplicated: L001"):
        Journeys.build(leads, _events([]))


@pytest.mark.parametrize("col", ["created_at", "observed_until"])
def test_required_timestamps_not_nat(col):
    leads = _leads()
    leads.loc[1, col] = pd.NaT
    with pytest.raises(ContractError, match=f"'{col}' is empty \\(NaT\\) for lead\\(s\\) L001"):
        Journeys(leads, _ok_events())


def test_timestamp_type_and_timezone():
    leads = _leads()
    leads["created_at"] = leads["created_at"].astype(str)
    with pytest.raises(ContractError, match="'created_at' has dtype .* expected datetime64"):
        Journeys(leads, _ok_events())
    leads = _leads()
    leads["sal_at"] = leads["created_at"].dt.tz_localize("UTC")
    with pytest.raises(ContractError, match="'sal_at' is timezone-aware"):
        Journeys(leads, _ok_events())


def test_all_nat_object_stage_column_is_accepted():
    j = Journeys(_leads(sqo_at=[None, None, None]), _ok_events())
    assert j.leads["sqo_at"].isna().all()
    assert str(j.leads["sqo_at"].dtype) == "datetime64[ns]"


@pytest.mark.parametrize(
    ("early", "late"),
    [
        ("created_at", "sal_at"),
        ("mql_at", "sal_at"),
        ("sal_at", "sqo_at"),
        ("sqo_at", "won_at"),
        ("sqo_at", "lost_at"),
        ("sal_at", "won_at"),
        ("sal_at", "lost_at"),
        ("sal_at", "disqualified_at"),
        ("created_at", "recycled_at"),
    ],
)
def test_stage_order_rules(early, late):
    leads = _leads()
    for col in STAGE_COLUMNS:
        leads[col] = pd.NaT
    leads[early] = leads["created_at"] + pd.Timedelta(days=10)
    leads[late] = leads["created_at"] + pd.Timedelta(days=20)
    Journeys(leads, _events([]))  # valid
    leads.loc[2, late] = leads.loc[2, early] - pd.Timedelta(days=1)
    with pytest.raises(
        ContractError, match=f"'{late}' is before '{early}' for 1 lead\\(s\\) \\(L002\\)"
    ):
        Journeys(leads, _events([]))


def test_stage_after_observation_end():
    leads = _leads(sal_at=[T0, pd.NaT, END + pd.Timedelta(days=1)])
    with pytest.raises(ContractError, match="'sal_at' is after 'observed_until' .*L002"):
        Journeys(leads, _ok_events())


def test_won_and_lost_exclusive():
    leads = _leads(
        sqo_at=[T0, pd.NaT, pd.NaT],
        won_at=[T0 + pd.Timedelta(days=3), pd.NaT, pd.NaT],
        lost_at=[T0 + pd.Timedelta(days=4), pd.NaT, pd.NaT],
    )
    with pytest.raises(ContractError, match="both won and lost \\(L000\\)"):
        Journeys(leads, _ok_events())


def test_bant_types():
    with pytest.raises(ContractError, match="BANT column 'budget_confirmed' has dtype object"):
        Journeys(_leads(budget_confirmed=["yes", "no", "yes"]), _ok_events())
    with pytest.raises(ContractError, match="'timeline_days' has dtype object"):
        Journeys(_leads(timeline_days=["soon", "30", "90"]), _ok_events())
    ok = Journeys(
        _leads(
            budget_confirmed=pd.array([True, None, False], dtype="boolean"),
            authority=[True, False, True],
            timeline_days=[30.0, np.nan, 90.0],
        ),
        _ok_events(),
    )
    assert ok.leads["budget_confirmed"].isna().sum() == 1


def test_event_unknown_lead():
    ev = _events([("L000", "2025-01-02", "x"), ("L999", "2025-01-03", "x")])
    with pytest.raises(ContractError, match="not in leads, e.g. L999"):
        Journeys(_leads(), ev)


def test_event_before_created_and_after_end():
    ev = _events([("L001", "2025-01-01", "x")])  # L001 created 2025-01-02
    with pytest.raises(ContractError, match="before their lead's created_at \\(leads L001\\)"):
        Journeys(_leads(), ev)
    ev = _events([("L001", "2025-07-01", "x")])
    with pytest.raises(ContractError, match="after their lead's observed_until \\(leads L001\\)"):
        Journeys(_leads(), ev)


def test_events_must_be_sorted():
    ev = _events([("L000", "2025-01-05", "x"), ("L000", "2025-01-02", "y")])
    with pytest.raises(
        ContractError, match=r"sorted by \(lead_id, ts\); first out-of-order row\(s\) 1"
    ):
        Journeys(_leads(), ev)
    ev = _events([("L002", "2025-01-05", "x"), ("L000", "2025-01-06", "y")])
    with pytest.raises(ContractError, match="sorted by"):
        Journeys(_leads(), ev)


def test_event_ts_and_name_required():
    ev = _ok_events()
    ev.loc[1, "ts"] = pd.NaT
    with pytest.raises(ContractError, match=r"'ts' is empty \(NaT\) in row\(s\) 1"):
        Journeys(_leads(), ev)
    ev = _ok_events()
    ev.loc[0, "event"] = None
    with pytest.raises(ContractError, match=r"'event' is empty in row\(s\) 0"):
        Journeys(_leads(), ev)
    ev = _ok_events()
    ev["value"] = ["a", "b", "c"]
    with pytest.raises(ContractError, match="'value' must be numeric"):
        Journeys(_leads(), ev)


def test_meta_must_be_json():
    with pytest.raises(ContractError, match="meta must be JSON-serialisable"):
        Journeys(_leads(), _ok_events(), {"when": pd.Timestamp("2025-01-01")})
    with pytest.raises(ContractError, match="meta must be a dict"):
        Journeys(_leads(), _ok_events(), ["not", "a", "dict"])


def test_messages_are_one_line_and_preview_ids():
    leads = _leads(12, sal_at=[END + pd.Timedelta(days=1)] * 12)
    with pytest.raises(ContractError) as info:
        Journeys(leads, _events([]))
    msg = str(info.value)
    assert "\n" not in msg
    assert "12 lead(s)" in msg and "(+7 more)" in msg


def test_write_read_roundtrip(tmp_path):
    leads = _leads(
        sal_at=[T0 + pd.Timedelta(days=1), pd.NaT, pd.NaT],
        segment=["smb", "enterprise", "smb"],
        budget_confirmed=[True, False, True],
    )
    ev = _ok_events()
    ev["value"] = [1.0, np.nan, 2.5]
    j = Journeys(leads, ev, {"source": "unit", "seed": 3})
    out = j.write(tmp_path / "j")
    assert sorted(p.name for p in out.iterdir()) == ["events.parquet", "leads.parquet", "meta.json"]
    back = Journeys.read(out)
    pd.testing.assert_frame_equal(back.leads, j.leads)
    pd.testing.assert_frame_equal(back.events, j.events)
    assert back.meta == j.meta
    # no temp folders left behind
    assert [p.name for p in tmp_path.iterdir()] == ["j"]


def test_write_is_deterministic(tmp_path):
    j = Journeys(_leads(), _ok_events(), {"source": "unit"})
    a = j.write(tmp_path / "a")
    b = j.write(tmp_path / "b")
    for name in ("leads.parquet", "events.parquet", "meta.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_failed_write_keeps_previous_folder(tmp_path, monkeypatch):
    j = Journeys(_leads(), _ok_events(), {"source": "old"})
    target = j.write(tmp_path / "j")
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    calls = {"n": 0}
    real = pd.DataFrame.to_parquet

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", flaky)
    j2 = Journeys(_leads(), _ok_events(), {"source": "new"})
    with pytest.raises(OSError, match="disk full"):
        j2.write(target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["j"]


def test_write_refuses_overwrite_when_asked(tmp_path):
    j = Journeys(_leads(), _ok_events())
    j.write(tmp_path / "j")
    with pytest.raises(InputError, match="folder exists"):
        j.write(tmp_path / "j", overwrite=False)


def test_read_errors(tmp_path):
    with pytest.raises(InputError, match="no such journeys folder"):
        Journeys.read(tmp_path / "nope")
    (tmp_path / "export.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="is a file, not a journeys folder"):
        Journeys.read(tmp_path / "export.csv")
    j = Journeys(_leads(), _ok_events())
    folder = j.write(tmp_path / "j")
    (folder / "meta.json").write_text("{not json")
    with pytest.raises(InputError, match=r"meta.json: invalid JSON at line 1 column 2"):
        Journeys.read(folder)
    (folder / "meta.json").write_text(json.dumps({"source": "x"}))
    (folder / "events.parquet").write_bytes(b"garbage")
    with pytest.raises(InputError, match="cannot read Parquet"):
        Journeys.read(folder)
    (folder / "events.parquet").unlink()
    with pytest.raises(InputError, match="events.parquet: missing"):
        Journeys.read(folder)


def test_read_reports_contract_errors_with_folder(tmp_path):
    folder = Journeys(_leads(), _ok_events()).write(tmp_path / "j")
    bad = _leads(sal_at=[END + pd.Timedelta(days=1), pd.NaT, pd.NaT])
    bad.to_parquet(folder / "leads.parquet", index=False)
    # a folder written before checksums existed: read, and the contract is still checked
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    del meta["checksums"]
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ContractError, match=f"{folder}: leads: 'sal_at' is after"):
        Journeys.read(folder)


def test_subset_keeps_matching_events():
    j = Journeys(_leads(), _ok_events())
    s = j.subset(["L002", "L000"])
    assert s.leads["lead_id"].tolist() == ["L000", "L002"]
    assert s.n_events == 3
    s2 = j.subset(["L001"])
    assert s2.n_events == 0 and s2.n_leads == 1
    with pytest.raises(ContractError, match="unknown lead_id\\(s\\) L404"):
        j.subset(["L404"])


def test_frozen():
    j = Journeys(_leads(), _ok_events())
    with pytest.raises(AttributeError):
        j.leads = _leads()  # type: ignore[misc]


def test_trusted_keeps_the_cheap_checks():
    j = simulate("startup_saas", n_leads=200, seed=3)
    same = Journeys.trusted(j.leads, j.events, j.meta)
    assert same.leads is j.leads and same.meta["source"] == "startup_saas"
    with pytest.raises(ContractError, match="lack contract form"):
        Journeys.trusted(j.leads.drop(columns="created_at"), j.events, j.meta)
    plain = j.events.assign(lead_id=j.events["lead_id"].astype(object))
    with pytest.raises(ContractError, match="lack contract form"):
        Journeys.trusted(j.leads, plain, j.meta)
    with pytest.raises(ContractError, match="not the lead ids"):
        Journeys.trusted(j.leads.iloc[:10], j.events, j.meta)
