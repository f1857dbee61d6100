"""Extreme input at full size: every case refused with one line, in seconds, in bounded memory.

Each case runs the ``qualmodel`` command in its own child process (through a small wrapper
that reports the child's peak RSS from ``getrusage(RUSAGE_CHILDREN)``) in a temporary
folder with the generated inputs: 200 MB CSV values, a 200 MB line without a line break, a
256 MB XES attribute, search spaces of 10^9 candidates, 10^9 power replicates, non-finite
and negative numbers, and TCP addresses where no Dask scheduler answers (local servers on
127.0.0.1 that send garbage, stay silent or speak HTTP; bounded to 60 s).
Goals: exit 2, one ``error:`` line, nothing written, wall ≤ 5 s (the Dask cases: start-up plus
the connect timeout, ``--dask-timeout``, 5 s by default), peak RSS < 500 MB. Last, a
``report`` is SIGKILLed once its kernel wrote its connection file, and the next ``report``
must remove the dead run's kernel folder.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import emit

HERE = Path(__file__).resolve().parent
QM = str(Path(sys.executable).with_name("qualmodel"))
WRAP = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(json.dumps({'rc': p.returncode, 'wall': time.perf_counter() - t, 'err': p.stderr,\n"
    "  'cpu': ru.ru_utime + ru.ru_stime, 'rss_mb': ru.ru_maxrss / 1024}))\n"
)
MB = 1 << 20
HEADER = "id,created,engaged,stage,closed\n"
MAPPING = """\
source: tiny
file: deals.csv
lead_id: id
created_at: created
stages: {sal_at: engaged}
status: {column: stage, date: closed, values: {Won: won_at, Lost: lost_at, Open: open}}
observed_until: 2020-12-31
"""
POWER = [QM, "power", "--scenario", "startup_saas", "--baseline", "demo_and_budget_need",
         "--candidate", "score_70", "--out", "p.csv"]  # fmt: skip


def _space(threshold: str, half_life: str = "[null]") -> str:
    return (
        "scenario: startup_saas\nscore:\n  events: {demo_completed: 40}\n"
        f"  threshold: {threshold}\n  half_life_days: {half_life}\n"
    )


def _write_big(path: Path, head: str, size: int, tail: str, fill: bytes = b"x") -> None:
    with path.open("wb") as fh:
        fh.write(head.encode())
        block = fill * MB
        for _ in range(size // MB):
            fh.write(block)
        fh.write(tail.encode())


XES_HEAD = b'<?xml version="1.0"?><log><trace><string key="concept:name" value="c1"/><event>'
BOMB = (
    "".join(
        f"{a}: &{a} [{', '.join([f'*{p}'] * 9 if p else ['50'] * 9)}]\n"
        for p, a in zip(["", "a", "b", "c", "d", "e", "f"], "abcdefg", strict=True)
    )
    + "scenario: startup_saas\nscore:\n  events: {demo_completed: 40}\n  threshold: [*g, *g]\n"
)


def _prepare(w: Path) -> None:
    (w / "m.yaml").write_text(MAPPING)
    _write_big(w / "value.csv", HEADER + "1,2020-01-01,,Won,2020-01-10\n2,2020-01-01,,",
               200 * MB, ",\n")  # fmt: skip
    _write_big(w / "noeol.csv", HEADER + "1,2020-01-01,,Won,", 200 * MB, "", b"9")
    _write_big(w / "date.csv", HEADER + "1,", 200 * MB, ",,Won,\n", b"2")
    _write_big(w / "log.csv", "case:concept:name,concept:name,time:timestamp\nc1,", 200 * MB,
               ",2024-01-01T00:00:00Z\n", b"A")  # fmt: skip
    _write_big(w / "log.xes", '<?xml version="1.0"?><log><trace><string key="concept:name" '
               'value="c1"/><event><string key="concept:name" value="', 256 * MB,
               '"/></event></trace></log>', b"v")  # fmt: skip
    (w / "lk").mkdir()
    (w / "lk" / "deals.csv").write_text(HEADER.strip() + ",region\n1,2020-01-01,,Won,,north\n")
    (w / "lk" / "m.yaml").write_text(
        MAPPING.replace("deals.csv", "deals.csv") + "lookups:\n  regions: {file: regions.csv, "
        "key: region, columns: {size: size}}\nattributes:\n  size: {column: size, type: float}\n"
    )
    _write_big(w / "lk" / "regions.csv", "region,size\nnorth,1\n", 200 * MB, ",2\n", b"s")
    (w / "huge.yaml").write_text(_space("{min: 0, max: 1000000000, step: 1}"))
    (w / "step.yaml").write_text(_space("{min: 0, max: 100, step: 0.0000001}"))
    (w / "nan.yaml").write_text(_space("[50, .nan]"))
    (w / "inf.yaml").write_text(_space("[50]", "[.inf]"))
    xes_head = XES_HEAD + b'<string key="concept:name" value="'
    with gzip.open(w / "bomb.xes.gz", "wb", compresslevel=1) as fh:  # 2 GiB in ~2 MB
        fh.write(xes_head)
        block = b"v" * (16 * MB)
        for _ in range(128):
            fh.write(block)
        fh.write(b'"/></event></trace></log>')
    (w / "deep.xes").write_bytes(XES_HEAD + b"<a>" * 3_000_000 + b"</a>" * 3_000_000
                                 + b"</event></trace></log>")  # fmt: skip
    (w / "bomb.yaml").write_text(BOMB)
    (w / "ovf.yaml").write_text(_space("{min: -1e300, max: 1e300, step: 1e-300}"))
    names = ", ".join(f"e{i}" for i in range(100_000))
    (w / "many.yaml").write_text(f"scenario: startup_saas\nevents: {{choose_from: [{names}]}}\n")
    subprocess.run([QM, "simulate", "-s", "startup_saas", "-n", "500", "--out", "J"], cwd=w,
                   check=True, capture_output=True)  # fmt: skip


def _imp(csv: str) -> list[str]:
    return [QM, "import", "-m", "m.yaml", "--csv", csv, "--out", "out"]


def _log(path: str) -> list[str]:
    return [QM, "import", "-m", "event_log", "--history", path, "--out", "out"]


def _search(*extra: str) -> list[str]:
    return [QM, "search", "-j", "J", "--out", "found", "--n-boot", "0", *extra]


CASES = {
    "csv: 200 MB value": _imp("value.csv"),
    "csv: 200 MB line without a line break": _imp("noeol.csv"),
    "csv: 200 MB date value": _imp("date.csv"),
    "csv: 200 MB lookup key": [
        QM,
        "import",
        "-m",
        "lk/m.yaml",
        "--csv",
        "lk/deals.csv",
        "--out",
        "out",
    ],
    "history csv: 200 MB activity": _log("log.csv"),
    "xes: 256 MB attribute": _log("log.xes"),
    "search: 10^9 thresholds": _search("-s", "huge.yaml"),
    "search: step 1e-7": _search("-s", "step.yaml"),
    "search: threshold NaN": _search("-s", "nan.yaml"),
    "search: half-life inf": _search("-s", "inf.yaml"),
    "search: --seed -1": _search("-s", "startup_saas", "--seed", "-1"),
    "search: --min-qualified -1": _search("-s", "startup_saas", "--min-qualified", "-1"),
    "power: --replicates 10^9": [*POWER, "--replicates", "1000000000"],
    "power: --seed -1": [*POWER, "--seed", "-1"],
    "power: --alpha nan": [*POWER, "--alpha", "nan"],
    "xes.gz: expands to a 2 GiB attribute": _log("bomb.xes.gz"),
    "xes: 3,000,000 nested elements": _log("deep.xes"),
    "search: YAML alias bomb": _search("-s", "bomb.yaml"),
    "search: range overflowing a float": _search("-s", "ovf.yaml"),
    "search: 100,000 events to choose from": _search("-s", "many.yaml"),
    "compare: --n-boot 10^9": [
        QM,
        "compare",
        "-j",
        "J",
        "-c",
        "startup_saas",
        "-o",
        "c.csv",
        "--n-boot",
        "1000000000",
    ],  # fmt: skip
    "fit-score: --window-days nan": [
        QM,
        "fit-score",
        "-j",
        "J",
        "-o",
        "f.yaml",
        "--window-days",
        "nan",
    ],  # fmt: skip
    "power: --dask local:100000": [*POWER, "--dask", "local:100000"],
    "power: --dask tcp port 99999": [*POWER, "--dask", "tcp://127.0.0.1:99999"],
}


def _server(kind: str) -> int:
    sock = socket.create_server(("127.0.0.1", 0))
    sock.settimeout(0.5)
    stop = time.monotonic() + 60

    def serve() -> None:
        conns = []
        while time.monotonic() < stop:
            try:
                conn, _ = sock.accept()
            except OSError:
                for c in conns if kind == "drip" else ():
                    try:
                        c.sendall(b"\x01")  # one byte now and then, never a message
                    except OSError:
                        pass
                continue
            conns.append(conn)
            if kind == "garbage":
                conn.sendall(b"\xff" * 64)
            elif kind == "http":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        for conn in conns:
            conn.close()
        sock.close()

    threading.Thread(target=serve, daemon=True).start()
    return sock.getsockname()[1]


def _run(args: list[str], cwd: Path) -> dict:
    before = sorted(p.name for p in cwd.iterdir())
    out = subprocess.run([sys.executable, "-c", WRAP, *args], cwd=cwd, capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    res = json.loads(out.stdout)
    lines = res["err"].strip().splitlines()
    res["one_line"] = len(lines) == 1 and lines[0].startswith("error: ")
    res["nothing_written"] = sorted(p.name for p in cwd.iterdir()) == before
    res["line"] = lines[0][:140] if lines else ""
    return res


def _killed_report(w: Path) -> dict:
    """SIGKILL a report once its kernel has a connection file; the next report removes it."""
    args = [QM, "report", "-j", "J", "-n", "01", "--no-progress"]
    proc = subprocess.Popen([*args, "-o", "r1"], cwd=w, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    folder = Path(tempfile.gettempdir()) / f"qualmodel-kernels-{proc.pid}-files"
    stop = time.monotonic() + 120
    while time.monotonic() < stop and not (folder.is_dir() and any(folder.iterdir())):
        time.sleep(0.1)
    left = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    after_kill = folder.is_dir()
    nxt = _run([*args, "-o", "r2"], w)
    removed = after_kill and not folder.exists()
    print(f"{'report: SIGKILL, then a new report':42s} exit {nxt['rc']}  {nxt['wall']:6.2f} s  "
          f"{nxt['rss_mb']:6.0f} MB  {'ok' if removed else 'FAIL'}  left {left} after the kill; "
          f"removed by the next run: {removed}")  # fmt: skip
    return {"left_after_kill": len(left), "removed_by_next_run": removed, "rc": nxt["rc"],
            "wall": nxt["wall"], "rss_mb": nxt["rss_mb"]}  # fmt: skip


def main() -> None:
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        w = Path(tmp)
        _prepare(w)
        cases = dict(CASES)
        for kind in ("garbage", "silent", "http", "drip"):
            cases[f"dask: {kind} server"] = [*POWER, "--dask", f"tcp://127.0.0.1:{_server(kind)}"]
        for kind in ("silent", "drip"):  # the wait is the timeout: 2 s instead of the default 5 s
            address = f"tcp://127.0.0.1:{_server(kind)}"
            cases[f"dask: {kind}, --dask-timeout 2"] = [*POWER, "--dask", address,
                                                        "--dask-timeout", "2"]  # fmt: skip
        for name, args in cases.items():
            r = _run(args, w)
            ok = r["rc"] == 2 and r["one_line"] and r["nothing_written"]
            print(f"{name:42s} exit {r['rc']}  {r['wall']:6.2f} s  cpu {r['cpu']:5.2f} s  "
                  f"{r['rss_mb']:6.0f} MB  "
                  f"{'ok' if ok else 'FAIL'}  {r['line']}")  # fmt: skip
            keys = ("rc", "wall", "cpu", "rss_mb", "one_line", "nothing_written")
            rows[name] = {k: r[k] for k in keys}
        rows["report: kernel files of a SIGKILLed run"] = _killed_report(w)
    emit({"bench": "hostile", "cases": rows})


if __name__ == "__main__":
    main()
