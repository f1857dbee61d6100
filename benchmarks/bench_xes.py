"""XES event logs: hostile files refused fast, and import throughput on a rich log.

1. A ~2 MB ``.xes.gz`` that expands to one 2 GiB attribute value (written as gzip members,
   never held expanded) is imported with ``qualmodel import -m event_log`` in a child
   process; goals: exit 2, one ``error:`` line naming the knob, wall ≤ 10 s, peak RSS
   < 300 MB (the child's ``getrusage(RUSAGE_CHILDREN)``).
2. A loan-application log shaped like the public BPI Challenge 2012 log (13,087 traces,
   262,200 events, 24 activities, events with ``concept:name``, ``lifecycle:transition``,
   ``org:resource``, ``time:timestamp`` with +01:00/+02:00 offsets; traces with
   ``concept:name``, ``REG_DATE``, ``AMOUNT_REQ``; seed 2012; about 80 MB of XML, gzip) is
   read by :func:`~qualmodel.crm.xes.read_xes` and imported by
   :func:`~qualmodel.crm.import_crm` in this process (best of 3; seconds per million events,
   wall and CPU), and imported by the CLI in a child (wall, CPU including the interpreter's
   start-up, peak RSS); the same log four times as long (52,348 traces, 1,048,800 events)
   is imported by the CLI too. Goal: ≤ 10 s per million events.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_hostile import WRAP
from common import best_wall_cpu, emit

QM = str(Path(sys.executable).with_name("qualmodel"))
HEAD = b'<?xml version="1.0"?><log><trace><string key="concept:name" value="c1"/><event>'
ACTIVITIES = [
    f"A_{a}"
    for a in (
        "SUBMITTED",
        "PARTLYSUBMITTED",
        "PREACCEPTED",
        "ACCEPTED",
        "FINALIZED",
        "APPROVED",
        "REGISTERED",
        "ACTIVATED",
        "CANCELLED",
        "DECLINED",
    )
]
ACTIVITIES += [f"O_{a}" for a in ("SELECTED", "CREATED", "SENT", "SENT_BACK", "ACCEPTED",
               "CANCELLED", "DECLINED")]  # fmt: skip
ACTIVITIES += [f"W_{a}" for a in ("Completeren aanvraag", "Nabellen offertes", "Valideren "
               "aanvraag", "Afhandelen leads", "Beoordelen fraude", "Wijzigen contractgegevens",
               "Nabellen incomplete dossiers")]  # fmt: skip


def _child(args: list[str], cwd: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", WRAP, *args], cwd=cwd, capture_output=True,
                         text=True, check=True)  # fmt: skip
    return json.loads(out.stdout)


def _bomb(path: Path) -> None:
    block = gzip.compress(b"v" * (16 << 20), compresslevel=9, mtime=0)
    with path.open("wb") as fh:
        fh.write(gzip.compress(HEAD + b'<string key="concept:name" value="', mtime=0))
        for _ in range(128):
            fh.write(block)
        fh.write(gzip.compress(b'"/></event></trace></log>', mtime=0))


STAGES = {"A_SUBMITTED": 0, "A_PREACCEPTED": 0.25, "A_ACCEPTED": 0.5, "O_SENT": 0.75}
OUTCOMES = ["A_APPROVED", "A_CANCELLED", "A_DECLINED"]
OTHER = [a for a in ACTIVITIES if a not in STAGES and a not in OUTCOMES]


def _activities(rng: np.random.Generator, n: int) -> list[str]:
    """A funnel-shaped trace: submitted first, later stages in order, one outcome last."""
    acts = [OTHER[i] for i in rng.integers(0, len(OTHER), n)]
    reach = rng.uniform()
    for k, (stage, where) in enumerate(STAGES.items()):
        if k == 0 or reach < 1 - 0.2 * k:
            acts[int(where * (n - 1))] = stage
    end = rng.integers(0, 4)
    if end < 3:
        acts[-1] = OUTCOMES[end]
    return acts


def _trace(rng: np.random.Generator, case: int, n: int, t0: float) -> str:
    stamps = t0 + np.cumsum(rng.exponential(3600.0, n))
    parts = [
        f'  <trace>\n    <date key="REG_DATE" value="{_iso(t0)}"/>\n'
        f'    <string key="concept:name" value="{173688 + case}"/>\n'
        f'    <string key="AMOUNT_REQ" value="{int(rng.integers(1, 100)) * 1000}"/>'
    ]
    for a, s in zip(_activities(rng, n), stamps, strict=True):
        who = int(rng.integers(10000, 11200))
        res = "" if a == "A_SUBMITTED" else f'      <string key="org:resource" value="{who}"/>\n'
        parts.append(
            f'    <event>\n{res}      <string key="lifecycle:transition" value="COMPLETE"/>\n'
            f'      <string key="concept:name" value="{a}"/>\n'
            f'      <date key="time:timestamp" value="{_iso(s)}"/>\n    </event>'
        )
    parts.append("  </trace>")
    return "\n".join(parts)


def _iso(t: float) -> str:
    stamp = time.gmtime(t)
    off = 2 if 3 < stamp.tm_mon < 11 else 1
    local = time.gmtime(t + off * 3600)
    ms = int((t % 1) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + f".{ms:03d}+0{off}:00"


def _loan_log(path: Path, traces: int = 13_087, events: int = 262_200) -> None:
    rng = np.random.default_rng(2012)
    sizes = rng.multinomial(events - 3 * traces, np.full(traces, 1 / traces)) + 3
    starts = 1317420000.0 + np.sort(rng.uniform(0, 166 * 86400, traces))
    with gzip.open(path, "wt", compresslevel=6, encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                 '<log xes.version="1.0" xmlns="http://www.xes-standard.org/">\n')  # fmt: skip
        for i in range(traces):
            fh.write(_trace(rng, i, int(sizes[i]), float(starts[i])) + "\n")
        fh.write("</log>\n")


def main() -> None:
    from qualmodel.crm import import_crm
    from qualmodel.crm.xes import read_xes

    with tempfile.TemporaryDirectory() as tmp:
        w = Path(tmp)
        _bomb(w / "bomb.xes.gz")
        bomb = _child([QM, "import", "-m", "event_log", "--history", "bomb.xes.gz", "--out",
                       "out"], w)  # fmt: skip
        lines = bomb["err"].strip().splitlines()
        print(f"2 GiB bomb ({(w / 'bomb.xes.gz').stat().st_size / 1e6:.1f} MB): exit "
              f"{bomb['rc']}, {bomb['wall']:.2f} s wall, {bomb['cpu']:.2f} s CPU, "
              f"{bomb['rss_mb']:.0f} MB RSS: {lines[-1] if lines else ''}")  # fmt: skip
        _loan_log(w / "loan.xes.gz")
        cols = ["case:concept:name", "concept:name", "time:timestamp"]
        wall, cpu, frame = best_wall_cpu(lambda: read_xes(w / "loan.xes.gz", cols))
        n = len(frame)
        imp_wall, imp_cpu, _ = best_wall_cpu(lambda: import_crm(w / "loan.xes.gz", "event_log"))
        imp = _child([QM, "import", "-m", "event_log", "--history", "loan.xes.gz", "--out",
                      "out"], w)  # fmt: skip
        per_m = 1e6 / n
        _loan_log(w / "loan_1m.xes.gz", traces=4 * 13_087, events=4 * 262_200)
        big = _child([QM, "import", "-m", "event_log", "--history", "loan_1m.xes.gz", "--out",
                      "out_1m"], w)  # fmt: skip
        print(f"loan log: import_crm in process {imp_wall * per_m:.2f} s wall / "
              f"{imp_cpu * per_m:.2f} s CPU per million events")  # fmt: skip
        print(f"loan log: {n:,} events; read_xes {wall * per_m:.2f} s wall / {cpu * per_m:.2f} "
              f"s CPU per million events; import {imp['wall'] * per_m:.2f} s wall / "
              f"{imp['cpu'] * per_m:.2f} s CPU per million events, {imp['rss_mb']:.0f} MB RSS "
              f"(exit {imp['rc']})")  # fmt: skip
        print(f"loan log ×4 (1,048,800 events): the CLI import {big['wall']:.2f} s wall / "
              f"{big['cpu']:.2f} s CPU, {big['rss_mb']:.0f} MB RSS (exit {big['rc']}; goal ≤ 10 s "
              f"per million events)")  # fmt: skip
    emit({
        "bomb": {k: bomb[k] for k in ("rc", "wall", "cpu", "rss_mb")},
        "bomb_one_line": len(lines) == 1,
        "events": n,
        "read_s_per_million": wall * per_m,
        "read_cpu_s_per_million": cpu * per_m,
        "import_s_per_million": imp["wall"] * per_m,
        "import_cpu_s_per_million": imp["cpu"] * per_m,
        "import_rss_mb": imp["rss_mb"],
        "import_rc": imp["rc"],
        "cli_1m_events_s": big["wall"],
        "cli_1m_events_cpu_s": big["cpu"],
        "cli_1m_events_rss_mb": big["rss_mb"],
        "cli_1m_events_rc": big["rc"],
        "import_crm_s_per_million": imp_wall * per_m,
        "import_crm_cpu_s_per_million": imp_cpu * per_m,
    })  # fmt: skip


if __name__ == "__main__":
    main()
