"""Extreme input on the newer surfaces: refused in one line before the work starts.

Huge CSV and XES values, runaway search spaces and replicate counts, non-finite and negative
numbers, addresses where no Dask scheduler answers, and what killed runs leave behind. Each
CLI case asserts exit 2, one ``error:`` line naming the file or key and the fix, and every
file of the world unchanged (``bad_input_helpers.assert_refused``). Wall time and memory of
the full-size versions are measured by ``benchmarks/bench_hostile.py``, not here.
"""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from bad_input_helpers import BOMB, MAPPING, _write, assert_refused, run_cli
from test_bad_input import CRM, GOOD_ROWS, REGIONS, _crm

from qualmodel.criteria.space import load_search_space
from qualmodel.crm.build import META_TEXT_CHARS, clip_texts
from qualmodel.experiment.power import check_address, local_workers, max_local_workers
from qualmodel.report import kernels

IMP = ["import", "-m", "raw/m.yaml", "--csv", "raw/deals.csv", "--out", "imported"]
SMALL_LIMIT = MAPPING + "csv: {max_field_bytes: 2048}\n"
HEADER = "id,created,engaged,stage,closed\n"
LOG = ["import", "-m", "event_log", "--history", "raw/log.csv", "--out", "imported"]
LOG_HEADER = "case:concept:name,concept:name,time:timestamp\n"
POWER = ["power", "--scenario", "startup_saas", "--baseline", "demo_and_budget_need",
         "--candidate", "score_70", "--out", "p.csv"]  # fmt: skip
SEARCH = ["search", "-j", "J", "--out", "found", "--n-boot", "0"]
FIT = ["fit-score", "-j", "J", "-o", "fs.yaml"]
CMP = ["compare", "-j", "J", "-c", "startup_saas", "-o", "c.csv"]
XES_HEAD = '<?xml version="1.0"?><log><trace><string key="concept:name" value="c1"/><event>'


def _space(threshold: str, half_life: str = "[null]", extra: str = "") -> str:
    return (
        "scenario: startup_saas\n"
        "score:\n"
        "  events: {demo_completed: 40, pricing_call: 30}\n"
        f"  threshold: {threshold}\n"
        f"  half_life_days: {half_life}\n"
        f"{extra}"
    )


def _gzip(rel: str, head: bytes, size: int, tail: bytes):
    """A small ``.gz`` file that expands to ``size`` bytes (written in 1 MiB blocks)."""

    def setup(w):
        with gzip.open(w / rel, "wb", compresslevel=1) as fh:
            fh.write(head)
            for _ in range(size >> 20):
                fh.write(b"v" * (1 << 20))
            fh.write(tail)

    return setup


def _both(*setups):
    def setup(w):
        for s in setups:
            s(w)

    return setup


CASES = [
    # 1. values over the field limit (CSV), checked before parsing
    (
        "csv-value-over-limit",
        IMP,
        ["raw/deals.csv", "line 3", "column 'stage'", "csv.max_field_bytes"],
        _both(
            _write("raw/m.yaml", SMALL_LIMIT),
            _write(
                "raw/deals.csv",
                HEADER + f"1,2020-01-01,,Won,2020-01-10\n2,2020-01-01,,{'x' * 3000},\n",
            ),
        ),
    ),
    (
        "csv-last-line-without-newline",
        IMP,
        ["line 2", "column 'closed'", "raise csv.max_field_bytes"],
        _both(
            _write("raw/m.yaml", SMALL_LIMIT),
            _write("raw/deals.csv", HEADER + f"1,2020-01-01,,Won,{'9' * 5000}"),
        ),
    ),
    (
        "csv-quoted-value-with-delimiters",
        IMP,
        ["line 2", "column 'engaged'"],
        _both(
            _write("raw/m.yaml", SMALL_LIMIT),
            _write("raw/deals.csv", HEADER + f'1,2020-01-01,"{"a," * 1500}",Won,\n'),
        ),
    ),
    (
        "csv-default-limit-1mib",
        IMP,
        ["line 2", "column 'created'", "1,048,576 bytes"],
        _write("raw/deals.csv", HEADER + f"1,{'2' * 1_100_000},,Won,\n"),
    ),
    (
        "lookup-key-over-limit",
        CRM,
        ["regions.csv", "line 4", "column 'region'", "csv.max_field_bytes"],
        _crm(GOOD_ROWS, regions=REGIONS + "s" * 1_100_000 + ",2\n"),
    ),
    (
        "history-csv-huge-activity",
        LOG,
        ["raw/log.csv", "line 3", "column 'concept:name'", "csv.max_field_bytes"],
        _write(
            "raw/log.csv",
            LOG_HEADER + "c1,A_SUBMITTED,2024-01-01T00:00:00Z\n"
            f"c1,{'A' * 1_100_000},2024-01-02T00:00:00Z\n",
        ),
    ),
    # 2. runaway sizes, refused from the declared ranges
    (
        "search-threshold-range-1e9",
        [*SEARCH, "--space", "space.yaml"],
        ["space.yaml", "1,000,000,001 candidates", "max_candidates", "narrow it"],
        _write("space.yaml", _space("{min: 0, max: 1000000000, step: 1}")),
    ),
    (
        "search-tiny-threshold-step",
        [*SEARCH, "--space", "space.yaml"],
        ["candidates", "coarser score.threshold step"],
        _write("space.yaml", _space("{min: 0, max: 100, step: 0.0000001}")),
    ),
    (
        "search-product-of-choices",
        [*SEARCH, "--space", "space.yaml"],
        ["candidates", "max_candidates (20,000)"],
        _write(
            "space.yaml",
            _space(
                "{min: 0, max: 999, step: 1}",
                "[null, 7, 14, 30]",
                "bant: {choose_from: [budget, authority, need, timeline]}\n",
            ),
        ),
    ),
    (
        "power-replicates-1e9",
        [*POWER, "--replicates", "1000000000"],
        ["n_replicates", "over 100,000 per call", "different seeds"],
        None,
    ),
    ("power-leads-1e8", [*POWER, "--n-leads", "100000000"], ["n_leads", "10,000,000"], None),
    (
        "xes-huge-attribute",
        ["import", "-m", "event_log", "--history", "raw/log.xes", "--out", "imported"],
        ["raw/log.xes", "attribute 'concept:name'", "xes.max_attribute_bytes"],
        _write(
            "raw/log.xes",
            '<?xml version="1.0"?><log><trace><string key="concept:name" '
            'value="c1"/><event><string key="concept:name" value="'
            + "v" * 3_000_000
            + '"/></event></trace></log>',
        ),
    ),
    # 3. non-finite and negative numbers
    (
        "search-threshold-nan",
        [*SEARCH, "--space", "space.yaml"],
        ["space.yaml", "threshold"],
        _write("space.yaml", _space("[50, .nan]")),
    ),
    (
        "search-threshold-inf",
        [*SEARCH, "--space", "space.yaml"],
        ["space.yaml", "threshold"],
        _write("space.yaml", _space("[50, .inf]")),
    ),
    (
        "search-threshold-beyond-float",
        [*SEARCH, "--space", "space.yaml"],
        ["space.yaml", "threshold"],
        _write("space.yaml", _space("[50, 1e400]")),
    ),
    (
        "search-half-life-inf",
        [*SEARCH, "--space", "space.yaml"],
        ["space.yaml", "half_life_days"],
        _write("space.yaml", _space("[50]", "[.inf]")),
    ),
    (
        "search-seed-negative",
        [*SEARCH, "-s", "startup_saas", "--seed", "-1"],
        ["seed", "0 to 2**63 - 1"],
        None,
    ),
    (
        "search-min-qualified-negative",
        [*SEARCH, "-s", "startup_saas", "--min-qualified", "-1"],
        ["min_qualified", "≥ 0"],
        None,
    ),
    (
        "search-holdout-share-one",
        [*SEARCH, "-s", "startup_saas", "--holdout-share", "1"],
        ["holdout_share", "< 1"],
        None,
    ),
    (
        "compare-seed-negative",
        ["compare", "-j", "J", "-c", "startup_saas", "-o", "c.csv", "--seed", "-1"],
        ["--seed", "0 to 2**63 - 1"],
        None,
    ),
    ("power-seed-negative", [*POWER, "--seed", "-1"], ["--seed", "0 to 2**63 - 1"], None),
    ("power-alpha-nan", [*POWER, "--alpha", "nan"], ["alpha", "finite"], None),
    ("power-dask-timeout-inf", [*POWER, "--dask-timeout", "inf"], ["--dask-timeout"], None),
    # more of each class
    (
        "csv-field-limit-knob-out-of-range",
        IMP,
        ["raw/m.yaml", "max_field_bytes", "1024"],
        _write("raw/m.yaml", MAPPING + "csv: {max_field_bytes: 10}\n"),
    ),
    (
        "mapping-lead-id-pad-1e9",
        IMP,
        ["raw/m.yaml", "lead_id.pad", "less than or equal to 32"],
        _write(
            "raw/m.yaml", MAPPING.replace("lead_id: id", "lead_id: {column: id, pad: 1000000000}")
        ),
    ),
    (
        "report-param-n-boot-1e9",
        ["report", "--journeys", "J", "--no-progress", "-p", "n_boot=1000000000", "--out", "r"],
        ["--param n_boot", "100,000"],
        None,
    ),
    (
        "report-param-seed-2-64",
        ["report", "--journeys", "J", "--no-progress", "-p", f"seed={2**64}", "--out", "r"],
        ["--param seed", "2**63 - 1"],
        None,
    ),
    (
        "xes-gzip-expands-to-a-huge-attribute",
        ["import", "-m", "event_log", "--history", "raw/log.xes.gz", "--out", "imported"],
        ["raw/log.xes.gz", "an element longer than", "xes.max_element_bytes"],
        _gzip(
            "raw/log.xes.gz",
            (XES_HEAD + '<string key="concept:name" value="').encode(),
            4 << 20,
            b'"/></event></trace></log>',
        ),  # fmt: skip
    ),
    (
        "xes-nesting-too-deep",
        ["import", "-m", "event_log", "--history", "raw/log.xes", "--out", "imported"],
        ["raw/log.xes", "nested deeper than 100 levels"],
        _write("raw/log.xes", XES_HEAD + "<a>" * 5000 + "</a>" * 5000 + "</event></trace></log>"),
    ),
    (
        "search-range-overflows-a-float",
        [*SEARCH, "--space", "space.yaml"],
        ["space.yaml", "over 1,000,000,000,000,000,000 candidates"],
        _write("space.yaml", _space("{min: -1e300, max: 1e300, step: 1e-300}")),
    ),
    (
        "search-100000-events-to-choose-from",
        [*SEARCH, "--space", "space.yaml"],
        ["space.yaml", "over 1,000,000,000,000,000,000 candidates", "narrow it"],
        _write(
            "space.yaml",
            "scenario: startup_saas\nevents: {choose_from: ["
            + ", ".join(f"e{i}" for i in range(100_000))
            + "]}\n",
        ),  # fmt: skip
    ),
    (
        "search-max-candidates-knob-too-high",
        [*SEARCH, "--space", "space.yaml"],
        ["space.yaml", "max_candidates"],
        _write("space.yaml", _space("[50]", extra="max_candidates: 100000000000\n")),
    ),
    ("compare-n-boot-1e9", [*CMP, "--n-boot", "1000000000"], ["--n-boot", "100,000"], None),
    (
        "power-local-workers-1e5",
        [*POWER, "--dask", "local:100000"],
        ["local:100000", "worker count from 1 to"],
        None,
    ),
    (
        "power-tcp-port-out-of-range",
        [*POWER, "--dask", "tcp://127.0.0.1:99999"],
        ["tcp://127.0.0.1:99999", "port from 1 to 65535"],
        None,
    ),  # fmt: skip
    (
        "fit-score-max-count-1e12",
        [*FIT, "--max-count", "1000000000000"],
        ["max_count", "1,000,000"],
        None,
    ),  # fmt: skip
    ("fit-score-window-nan", [*FIT, "--window-days", "nan"], ["window_days", "finite"], None),
    ("fit-score-window-inf", [*FIT, "--window-days", "inf"], ["window_days", "finite"], None),
    ("fit-score-points-inf", [*FIT, "--points-per-logit", "inf"], ["points_per_logit"], None),
    ("fit-score-target-p-2", [*FIT, "--target-probability", "2"], ["target_probability"], None),
    ("cure-zero-time-nan", ["cure", "-j", "J", "--zero-time", "nan"], ["--zero-time"], None),
    ("compare-horizon-inf", [*CMP, "--horizon-days", "inf"], ["--horizon-days"], None),
    (
        "simulate-seed-2-64",
        ["simulate", "-n", "50", "--out", "s", "--seed", str(2**64)],
        ["seed", "2**63 - 1"],
        None,
    ),  # fmt: skip
    (
        "search-space-alias-bomb",
        [*SEARCH, "--space", "space.yaml"],
        ["space.yaml", "alias", "write the value out"],
        _write(
            "space.yaml",
            BOMB.replace("criteria:", "score:\n  events: {demo_completed: 40}\n  threshold:"),
        ),  # fmt: skip
    ),
    (
        "search-space-not-utf8",
        [*SEARCH, "--space", "space.yaml"],
        ["space.yaml", "not UTF-8", "byte 0xe9"],
        _write("space.yaml", b"scenario: startup_saas # caf\xe9\nscore: {threshold: [50]}\n"),
    ),
    (
        "criteria-yaml-over-1mib",
        ["qualify", "-j", "J", "-c", "c.yaml", "-o", "q.csv"],
        ["c.yaml", "characters of YAML, more than 1,048,576", "right file"],
        _write(
            "c.yaml",
            "criteria:\n  - name: x\n    events: {any: [demo_completed]}\n"
            + "# padding\n" * 120_000,
        ),  # fmt: skip
    ),
    (
        "criteria-threshold-nan",
        ["qualify", "-j", "J", "-c", "c.yaml", "-o", "q.csv"],
        ["c.yaml", "criteria[0].score.threshold", "finite"],
        _write(
            "c.yaml",
            "criteria:\n  - name: x\n    score: {threshold: .nan, events: {demo_completed: 30}}\n",
        ),  # fmt: skip
    ),
]


@pytest.mark.parametrize(
    ("args", "expected", "setup"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_extreme_input_is_one_line_and_changes_nothing(args, expected, setup, world, capsys):
    assert_refused(args, world, capsys, expected, setup)


def test_a_long_value_under_the_limit_imports(world, capsys):
    """A 200 KB value (over the csv module's 128 KiB default) is data, not an error."""
    rows = [GOOD_ROWS[0] + ",notes", GOOD_ROWS[1] + "," + "n" * 200_000, GOOD_ROWS[2] + ",x"]
    _crm(rows)(world)
    code, _, err = run_cli(CRM, capsys)
    assert code == 0, err
    assert (world / "imported" / "leads.parquet").is_file()


#: The drip server's pace: a few bytes reach the client before its 0.6 s timeout.
DRIP_EVERY = 0.15


class _FakeServer:
    """A TCP server on 127.0.0.1 that is not a Dask scheduler (bounded: 30 s at most)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(DRIP_EVERY)
        self.port = self.sock.getsockname()[1]
        self.stop = time.monotonic() + 30
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while time.monotonic() < self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                self._drip()
                continue
            self.conns.append(conn)
            if self.kind == "garbage":
                conn.sendall(b"\xff" * 64)
            elif self.kind == "http":
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    def _drip(self) -> None:
        """``drip``: one byte per connection every ``DRIP_EVERY`` s, never a whole message."""
        for conn in self.conns if self.kind == "drip" else ():
            try:
                conn.sendall(b"\x01")
            except OSError:
                pass

    def close(self) -> None:
        self.stop = 0
        for conn in self.conns:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize("kind", ["garbage", "silent", "http", "drip"])
def test_an_address_that_is_not_a_scheduler_is_one_line(kind, world, capsys):
    server = _FakeServer(kind)
    try:
        args = [*POWER, "--dask", f"tcp://127.0.0.1:{server.port}", "--dask-timeout", "0.6"]
        line = assert_refused(args, world, capsys, ["no Dask scheduler answered", "local:N"])
        assert "within 0.6 s" in line
        assert f"127.0.0.1:{server.port}" in line
    finally:
        server.close()


def test_a_closed_port_is_one_line(world, capsys):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again when the block ends
    args = [*POWER, "--dask", f"tcp://127.0.0.1:{port}", "--dask-timeout", "0.5"]
    assert_refused(args, world, capsys, ["no Dask scheduler answered"])


def test_meta_keeps_long_data_values_short():
    long = "A" * 10_000
    clipped = clip_texts({"events": {long: 3, "ok": 1}, "notes": [long]})
    key = next(iter(clipped["events"]))
    assert len(key) < META_TEXT_CHARS and key.startswith("A" * 80) and "10,000" in key
    assert clipped["events"]["ok"] == 1 and "10,000 characters" in clipped["notes"][0]


def test_kernel_files_of_a_killed_run_are_removed(tmp_path, monkeypatch):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    stale = tmp_path / f"{kernels.KERNEL_DIR_PREFIX}{pid}-files"
    stale.mkdir()
    (stale / "kernel-abc.json").write_text('{"key": "secret"}')
    monkeypatch.setattr(kernels.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(kernels, "_KERNEL_DIR", [])
    mine = kernels.kernel_dir()
    assert not stale.exists()
    assert mine.name == f"{kernels.KERNEL_DIR_PREFIX}{os.getpid()}-files"
    assert (mine.stat().st_mode & 0o777) == 0o700


def test_raised_field_limit_reads_long_values(world, capsys):
    """``csv.max_field_bytes`` is the knob: a value over the default limit imports when raised."""
    _write("raw/m.yaml", MAPPING + "csv: {max_field_bytes: 4194304}\n")(world)
    rows = f"id,created,engaged,stage,closed,note\n1,2020-01-01,,Open,,{'x' * 2_000_000}\n"
    _write("raw/deals.csv", rows)(world)
    code, _, err = run_cli(IMP, capsys)
    assert code == 0, err[:300]


def test_a_long_value_in_an_error_line_is_shortened(world, capsys):
    """An error that quotes a data value quotes its start and length, not 2 MB."""
    _write("raw/m.yaml", MAPPING + "csv: {max_field_bytes: 4194304}\n")(world)
    _write("raw/deals.csv", HEADER + f"1,2020-01-01,,{'x' * 2_000_000},\n")(world)
    line = assert_refused(IMP, world, capsys, ["column 'stage'", "(2,000,000 characters)"])
    assert len(line) < 1_000


def test_long_values_are_imported_but_not_copied_into_meta(world, capsys):
    """A 300,000-character activity (under the limit) is imported; meta.json stays small."""
    rows = (
        "c1,A_SUBMITTED,2024-01-01T00:00:00Z\nc1,A_ACCEPTED,2024-01-02T00:00:00Z\n"
        f"c1,{'Z' * 300_000},2024-01-03T00:00:00Z\n"
    )
    _write("raw/log.csv", LOG_HEADER + rows)(world)
    code, _, err = run_cli(LOG, capsys)
    assert code == 0, err[:300]
    meta = (world / "imported" / "meta.json").read_text(encoding="utf-8")
    assert len(meta) < 5_000 and "(300,000 characters)" in meta


def test_max_candidates_is_the_knob_of_the_space_size():
    text = _space("{min: 0, max: 29999, step: 1}")
    with pytest.raises(Exception, match="30,000 candidates, more than max_candidates"):
        load_search_space(text)
    assert load_search_space(text + "max_candidates: 40000\n").n_candidates() == 30_000


def test_local_worker_count_is_bounded_by_the_cpus():
    assert local_workers("local:2") == 2
    assert max_local_workers() == 4 * (os.cpu_count() or 1)


@pytest.mark.parametrize("address", ["tcp://h:8786", "tcp://h", "tcp://[::1]:8786", "tcp://[::1]"])
def test_scheduler_addresses_with_a_valid_or_default_port_pass(address):
    check_address(address)


@pytest.mark.parametrize("address", ["tcp://", "tcp://:8786", "tcp://h:0", "tcp://h:65536"])
def test_scheduler_addresses_without_host_or_with_a_bad_port_are_refused(address):
    with pytest.raises(Exception, match="port from 1 to 65535"):
        check_address(address)
