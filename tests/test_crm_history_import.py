"""Leads table + stage history + touchpoints joined by key; cut-off; built-in mappings."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from qualmodel.core.errors import ConfigError, InputError
from qualmodel.crm import import_crm, load_mapping
from qualmodel.journeys.outcomes import stage_labels

LEADS = (
    "id,created,source,amount\n7,2024-01-01,web,100\n0012,2024-01-02,event,\n30,2024-01-05,web,50\n"
)
HISTORY = """\
lead,stage,at
7,Accepted,2024-01-03
007,Qualified,2024-01-08
12,Accepted,2024-01-04
12,Won,2024-02-01
7,Lost,2024-03-01
"""
TOUCH = "lead,what,at,score\n7,Webinar,2024-01-02,3\n30,Demo Request,2024-01-06,\n"


def _mapping(**history):
    base = {
        "source": "joined",
        "file": "leads.csv",
        "lead_id": "id",
        "created_at": "created",
        "attributes": {
            "source": {"column": "source", "type": "category"},
            "deal_value": {"column": "amount", "type": "float"},
        },
        "history": {
            "file": "history.csv",
            "case_id": "lead",
            "activity": "stage",
            "timestamp": "at",
            "stages": {"Accepted": "sal", "Qualified": "sqo", "Won": "won", "Lost": "lost"},
        }
        | history,
        "touchpoints": {
            "file": "touch.csv",
            "case_id": "lead",
            "activity": "what",
            "timestamp": "at",
            "value": "score",
        },
    }
    return base


@pytest.fixture
def export(tmp_path):
    (tmp_path / "leads.csv").write_text(LEADS)
    (tmp_path / "history.csv").write_text(HISTORY)
    (tmp_path / "touch.csv").write_text(TOUCH)
    return tmp_path


def test_three_tables_joined_by_key(export):
    j = import_crm(export / "leads.csv", _mapping())
    leads = j.leads.set_index("lead_id")
    # digit ids are zero-padded like the leads table's ids: 7, 007 and 0012 all match
    assert leads.index.tolist() == ["07", "12", "30"]
    assert leads.loc["07", "sal_at"] == pd.Timestamp("2024-01-03")
    assert leads.loc["07", "sqo_at"] == pd.Timestamp("2024-01-08")
    assert leads.loc["07", "lost_at"] == pd.Timestamp("2024-03-01")
    assert leads.loc["12", "won_at"] == pd.Timestamp("2024-02-01")
    assert pd.isna(leads.loc["30", "sal_at"])  # a lead without history stays, no stages
    assert leads.loc["07", "deal_value"] == 100.0 and leads.loc["12", "source"] == "event"
    ev = j.events
    assert ev["event"].astype(str).tolist() == ["webinar", "demo_request"]
    assert ev["value"].iloc[0] == 3.0 and pd.isna(ev["value"].iloc[1])
    # cut-off: max = the latest timestamp of every table
    assert (leads["observed_until"] == pd.Timestamp("2024-03-01")).all()
    info = j.meta["import"]
    assert info["history"]["skipped"] == {"sal": 0} or "sal" not in info["history"]["skipped"]
    assert set(j.meta["files"]) == {"main", "history", "touchpoints"}


def test_explicit_cutoff_drops_later_rows(export):
    j = import_crm(export / "leads.csv", _mapping(), observed_until="2024-02-15")
    leads = j.leads.set_index("lead_id")
    assert pd.isna(leads.loc["07", "lost_at"]) and leads.loc["12", "won_at"].month == 2
    assert j.meta["import"]["history"]["dropped_rows"] == {"after the data cut-off": 1}
    assert (leads["observed_until"] == pd.Timestamp("2024-02-15")).all()


def test_skipped_sal_filled(export):
    (export / "history.csv").write_text("lead,stage,at\n30,Won,2024-01-20\n")
    keep = import_crm(export / "leads.csv", _mapping())
    assert pd.isna(keep.leads.set_index("lead_id").loc["30", "sal_at"])
    assert keep.meta["import"]["history"]["skipped"] == {"sqo": 1, "sal": 1}
    fill = import_crm(export / "leads.csv", _mapping(skipped_stages="fill"))
    row = fill.leads.set_index("lead_id").loc["30"]
    assert row["sal_at"] == row["sqo_at"] == pd.Timestamp("2024-01-20")


def test_stage_before_lead_creation_is_out_of_order(export):
    (export / "history.csv").write_text("lead,stage,at\n30,Accepted,2024-01-04\n")
    with pytest.raises(InputError, match="case '30' reaches sal_at .* before created_at"):
        import_crm(export / "leads.csv", _mapping())


def test_history_of_a_lead_dropped_by_the_leads_table(export):
    (export / "leads.csv").write_text(LEADS.replace("30,2024-01-05", "30,"))
    mp = _mapping() | {"on_invalid": "drop"}
    (export / "history.csv").write_text(HISTORY + "30,Accepted,2024-01-09\n")
    j = import_crm(export / "leads.csv", mp)
    assert j.leads["lead_id"].tolist() == ["07", "12"]
    assert j.meta["import"]["dropped"] == {"missing:created_at": 1}
    assert j.meta["import"]["history"]["dropped_rows"] == {
        "lead dropped by the leads table import": 1
    }
    assert j.meta["import"]["touchpoints"]["dropped_rows"] == {
        "lead dropped by the leads table import": 1
    }
    assert j.events["event"].astype(str).tolist() == ["webinar"]


def test_touchpoint_for_unknown_lead(export):
    (export / "touch.csv").write_text("lead,what,at,score\n99,Webinar,2024-01-02,\n")
    with pytest.raises(
        InputError,
        match=r"touch.csv: line\(s\) 2, column 'lead': touchpoints row for unknown lead.*"
        r"history.on_invalid",
    ):
        import_crm(export / "leads.csv", _mapping())


def test_mapping_table_rules():
    with pytest.raises(ConfigError, match="'created' is taken from the leads table"):
        load_mapping(_mapping(stages={"Accepted": "created"}))
    both = _mapping() | {"stages": {"sal_at": "created"}}
    with pytest.raises(ConfigError, match="stage\\(s\\) sal set both by the leads table"):
        load_mapping(both)
    with pytest.raises(ConfigError, match="give file: \\(the main table\\) or a history: block"):
        load_mapping({"source": "x", "created_at": "c"})
    only = {"source": "x", "history": _mapping()["history"], "attributes": {"a": "b"}}
    with pytest.raises(ConfigError, match="need a leads table"):
        load_mapping(only)


# ---------------------------------------------------------------- built-in mappings
SF_OPP = """\
Id,CreatedDate,LeadSource,Type,Amount
0065g00000AAA1,2024-01-02T09:00:00.000+0000,Web,New Business,12000
0065g00000AAA2,2024-01-03T10:00:00.000+0000,Partner,Existing Business,
0065g00000AAA3,2024-01-04T11:00:00.000+0000,Web,New Business,5000
"""
SF_HIST = """\
OpportunityId,StageName,CreatedDate,Amount,CloseDate,Probability,IsDeleted
0065g00000AAA1,Prospecting,2024-01-02T09:00:00.000+0000,12000,2024-03-31,10,false
0065g00000AAA1,Needs Analysis,2024-01-10T09:00:00.000+0000,12000,2024-03-31,20,false
0065g00000AAA1,Proposal/Price Quote,2024-01-20T09:00:00.000+0000,12000,2024-03-31,75,false
0065g00000AAA1,Closed Lost,2024-02-01T09:00:00.000+0000,12000,2024-02-01,0,false
0065g00000AAA1,Negotiation/Review,2024-02-10T09:00:00.000+0000,12000,2024-02-28,90,false
0065g00000AAA1,Closed Won,2024-02-20T09:00:00.000+0000,12000,2024-02-20,100,false
0065g00000AAA2,Qualification,2024-01-03T10:00:00.000+0000,,2024-04-30,10,false
0065g00000AAA2,Closed Lost,2024-01-05T10:00:00.000+0000,,2024-01-05,0,true
0065g00000AAA3,Prospecting,2024-01-04T11:00:00.000+0000,5000,2024-02-29,10,false
0065g00000AAA3,Closed Won,2024-01-09T11:00:00.000+0000,5000,2024-01-09,100,false
"""


def test_builtin_salesforce_opportunity_history(tmp_path):
    (tmp_path / "Opportunity.csv").write_text(SF_OPP)
    (tmp_path / "OpportunityHistory.csv").write_text(SF_HIST)
    j = import_crm(tmp_path / "Opportunity.csv", "salesforce_opportunity_history")
    leads = j.leads.set_index("lead_id")
    a1, a2, a3 = (leads.loc[f"0065g00000AAA{i}"] for i in (1, 2, 3))
    # re-opened deal: lost, then won -> the later outcome is kept
    assert a1["won_at"] == pd.Timestamp("2024-02-20 09:00") and pd.isna(a1["lost_at"])
    assert a1["sqo_at"] == pd.Timestamp("2024-01-10 09:00")  # first open stage after SAL
    assert a2["sal_at"] == pd.Timestamp("2024-01-03 10:00") and pd.isna(a2["sqo_at"])
    assert pd.isna(a2["lost_at"])  # its Closed Lost row has IsDeleted=true: skipped
    # closed straight from Prospecting: SQO filled with the close time
    assert a3["sqo_at"] == a3["won_at"] == pd.Timestamp("2024-01-09 11:00")
    assert a1["deal_value"] == 12000.0 and a2["opportunity_type"] == "Existing Business"
    info = j.meta["import"]["history"]
    assert info["won_and_lost_kept_last"] == 1 and info["repeated"] == {"sqo": 2}


BPI_EVENTS = [
    ("173688", "A_SUBMITTED", "2011-10-01T00:38:44.546+02:00"),
    ("173688", "A_PARTLYSUBMITTED", "2011-10-01T00:38:44.880+02:00"),
    ("173688", "A_PREACCEPTED", "2011-10-01T00:39:37.906+02:00"),
    ("173688", "W_Completeren aanvraag", "2011-10-01T11:36:46.437+02:00"),
    ("173688", "A_ACCEPTED", "2011-10-01T11:42:43.308+02:00"),
    ("173688", "O_SENT", "2011-10-01T11:45:13.917+02:00"),
    ("173688", "O_SENT", "2011-10-01T11:45:13.917+02:00"),  # repeated instant: dropped
    ("173688", "A_APPROVED", "2011-10-13T10:05:26.925+02:00"),
    ("173691", "A_SUBMITTED", "2011-10-01T08:08:58.256+02:00"),
    ("173691", "A_DECLINED", "2011-10-01T08:09:56.416+02:00"),
]


def _xes(events) -> str:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<log xmlns="http://www.xes-standard.org/">']
    for case in dict.fromkeys(e[0] for e in events):
        parts.append(f'<trace><string key="concept:name" value="{case}"/>')
        for c, act, ts in events:
            if c == case:
                parts.append(
                    f'<event><string key="concept:name" value="{act}"/>'
                    f'<string key="lifecycle:transition" value="COMPLETE"/>'
                    f'<date key="time:timestamp" value="{ts}"/></event>'
                )
        parts.append("</trace>")
    return "\n".join([*parts, "</log>\n"])


@pytest.mark.parametrize("fmt", ["xes.gz", "csv"])
def test_builtin_event_log(tmp_path, fmt):
    path = tmp_path / f"log.{fmt}"
    if fmt == "csv":
        pd.DataFrame(
            BPI_EVENTS, columns=["case:concept:name", "concept:name", "time:timestamp"]
        ).to_csv(path, index=False)
    else:
        path.write_bytes(gzip.compress(_xes(BPI_EVENTS).encode()))
    j = import_crm(path, "event_log")
    leads = j.leads.set_index("lead_id")
    a, b = leads.loc["173688"], leads.loc["173691"]
    assert a["created_at"] == pd.Timestamp("2011-09-30 22:38:44.546")  # UTC
    assert a["sal_at"] == pd.Timestamp("2011-10-01 09:42:43.308")
    assert a["sqo_at"] == pd.Timestamp("2011-10-01 09:45:13.917")
    assert a["won_at"] == pd.Timestamp("2011-10-13 08:05:26.925")
    assert b["disqualified_at"] == pd.Timestamp("2011-10-01 06:09:56.416") and pd.isna(b["sal_at"])
    assert sorted(j.events["event"].astype(str)) == ["a_partlysubmitted", "w_completeren_aanvraag"]
    assert j.meta["import"]["history"]["dropped_rows"] == {"duplicate event": 1}
    assert (leads["observed_until"] == a["won_at"]).all()
    # the outcome names the mapping declares reach meta on the history path too
    assert j.meta["outcomes"] == {
        "approved": "won_at", "cancelled": "lost_at", "declined": "disqualified_at"
    }  # fmt: skip
    labels = stage_labels(j)
    assert (labels["won_at"], labels["lost_at"], labels["disqualified_at"]) == (
        "approved",
        "cancelled",
        "declined",
    )


LOAN_LOG = """\
case,activity,ts
1,A_SUBMITTED,2024-01-01T10:00:00Z
1,A_ACCEPTED,2024-01-02T10:00:00Z
1,A_APPROVED,2024-01-10T10:00:00Z
2,A_SUBMITTED,2024-01-01T10:00:00Z
2,A_ACCEPTED,2024-01-03T10:00:00Z
2,A_CANCELLED,2024-01-05T10:00:00Z
3,A_SUBMITTED,2024-01-01T10:00:00Z
3,A_DECLINED,2024-01-02T10:00:00Z
"""
LOAN_STAGES = {
    "A_SUBMITTED": "created",
    "A_ACCEPTED": "sal",
    "A_APPROVED": "won",
    "A_CANCELLED": "withdrawn",
    "A_DECLINED": "disqualified",
}


def test_history_activity_to_an_extra_outcome(tmp_path):
    from qualmodel.journeys.outcomes import plan_outcomes

    (tmp_path / "log.csv").write_text(LOAN_LOG)
    history = {"file": "log.csv", "case_id": "case", "activity": "activity", "timestamp": "ts"}
    outcomes = {"approved": "won", "declined": "disqualified", "cancelled": "withdrawn"}
    mapping = {"source": "loans", "history": history | {"stages": LOAN_STAGES}}
    j = import_crm(tmp_path / "log.csv", load_mapping(mapping | {"outcomes": outcomes}))
    leads = j.leads.set_index("lead_id")
    assert leads.loc["2", "withdrawn_at"] == pd.Timestamp("2024-01-05 10:00")
    assert leads["withdrawn_at"].notna().sum() == 1
    assert stage_labels(j)["withdrawn_at"] == "cancelled"
    plan = plan_outcomes(j)
    assert (plan["start"], plan["target"]) == ("sal_at", "won_at")
    assert plan["competing_names"] == ["cancelled"]
    with pytest.raises(ConfigError, match=r"A_CANCELLED: 'withdrawn' is neither a stage"):
        load_mapping(mapping)  # an extra outcome must be declared under outcomes:
    with pytest.raises(ConfigError, match=r"a target is one of created"):
        load_mapping({"source": "x", "history": history | {"stages": {"A": "Not Valid"}}})


def test_outcome_names_on_the_three_table_path(export):
    """Leads table + history (an extra outcome) + touchpoints: labels reach meta and the plan."""
    (export / "history.csv").write_text(HISTORY + "30,Withdrawn,2024-01-20\n")
    mapping = _mapping(stages={"Accepted": "sal", "Won": "won", "Lost": "lost",
                               "Withdrawn": "withdrawn", "Qualified": "sqo"})  # fmt: skip
    mapping["outcomes"] = {"approved": "won", "declined": "lost", "cancelled": "withdrawn"}
    j = import_crm(export / "leads.csv", load_mapping(mapping))
    assert set(j.meta["files"]) == {"main", "history", "touchpoints"}
    assert j.meta["outcomes"]["cancelled"] == "withdrawn_at"
    assert j.leads.set_index("lead_id").loc["30", "withdrawn_at"] == pd.Timestamp("2024-01-20")
    labels = stage_labels(j)
    assert (labels["won_at"], labels["lost_at"], labels["withdrawn_at"]) == (
        "approved",
        "declined",
        "cancelled",
    )
