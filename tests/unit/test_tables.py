"""Every table reads well at 60, 80 and 200 columns: a grid when it fits, else stacked; never
a column squeezed to a letter per line (issue 18 item 2)."""

from __future__ import annotations

import pytest
from rich.console import Console

from provisioner.cli.check import _check_table
from provisioner.cli.display import recap_table
from provisioner.cli.rehearse import _table as rehearse_table
from provisioner.cli.tables import FitTable, render
from provisioner.probe import checks as probe
from provisioner.rehearse.overlay import Stand, ports_for
from provisioner.rehearse.rehearsal import HostOutcome, Rehearsal
from provisioner.runner.progress import HostCounts, Progress

WIDTHS = (60, 80, 200)
LONG_HOST = "mail-server-number-one.eu-west.example.org"


def _fits(text: str, width: int) -> None:
    lines = text.splitlines()
    assert lines and all(len(line) <= width for line in lines), "\n".join(lines)
    if not any(box in text for box in "│┃"):  # stacked: clean lines in a log
        assert all(line == line.rstrip() for line in lines), "trailing spaces in a log"


def _rehearsal() -> Rehearsal:
    outcomes = []
    for i, host in enumerate((LONG_HOST, "mx2.example.org")):
        o = HostOutcome(Stand(i, host, "trixie", host, ports_for(i)), deploy=HostCounts(ok=80, changed=31))
        o.checks = [probe.Check(host, "SMTP banner", "pass")]
        o.checked = True
        outcomes.append(o)
    return Rehearsal(outcomes)


@pytest.mark.parametrize("width", WIDTHS)
def test_rehearse_table(width: int) -> None:
    text = render(rehearse_table(_rehearsal()), width)
    _fits(text, width)
    assert LONG_HOST in text and "mailprov-rehearse-0" in text and "1/1 passed" in text
    if width >= 200:
        assert "┃ host" in text  # a grid when there is room


@pytest.mark.parametrize("width", WIDTHS)
def test_check_table_wraps_only_the_detail(width: int) -> None:
    target = probe.Target(host=LONG_HOST, address="203.0.113.10", hostname=LONG_HOST, ports={}, verify_tls=False)
    detail = "TLSv1.3 TLS_AES_256_GCM_SHA384, certificate for " + LONG_HOST + " valid until 2027-02-01, " * 3
    results = [probe.Check(LONG_HOST, "IMAPS banner + TLS", "pass", detail, 0.12),
               probe.Check(LONG_HOST, "relay refused (port 25)", "fail", "554 5.7.1 relay access denied", 1.5)]
    text = render(_check_table(target, results), width)
    _fits(text, width)
    assert "relay refused (port 25)" in text and "IMAPS banner + TLS" in text and LONG_HOST in text
    assert "relay access denied" in " ".join(text.split())


@pytest.mark.parametrize("width", WIDTHS)
def test_recap_table(width: int) -> None:
    progress = Progress()
    progress.hosts[LONG_HOST] = HostCounts(ok=120, changed=3, unreachable=1, skipped=40)
    text = render(recap_table(progress), width)
    _fits(text, width)
    assert LONG_HOST in text and "unreachable" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_many_columns_stack_rather_than_collapse(width: int) -> None:
    table = FitTable(tuple(f"column-{i}" for i in range(8)), title="wide")
    table.add_row(*(f"value-number-{i}" for i in range(8)))
    text = render(table, width)
    _fits(text, width)
    assert all(f"value-number-{i}" in text for i in range(8))
    assert all(f"column-{i}" in text for i in range(1, 8))  # the first cell heads its block


def test_a_pipe_is_80_columns_and_gets_the_same_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert Console(file=__import__("io").StringIO()).width == 80
