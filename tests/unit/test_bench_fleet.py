"""The fleet benchmark's inventories stay valid as the fleet's rules change (no containers here).

bench/bench_fleet.py runs only in `make bench`, on a machine with podman and for minutes: a fleet
inventory that validation came to refuse would show there first, after the 1-host deploy.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from provisioner.inventory.store import load_inventory
from provisioner.rehearse import fleet
from provisioner.rehearse.overlay import write_overlay

BENCH = Path(__file__).resolve().parents[2] / "bench"
MAILPROV = str(Path(sys.executable).parent / "mailprov")


@pytest.fixture(scope="module")
def fleet_stand() -> Iterator[object]:
    sys.path.insert(0, str(BENCH))
    try:
        import fleet_stand  # bench/ is no package: on the path only here

        yield fleet_stand
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.parametrize("size", [1, 3, 5])
def test_each_fleet_validates_and_its_private_copy_too(fleet_stand, tmp_path: Path, size: int) -> None:
    source = tmp_path / "source"
    fleet_stand.write_inventory(source, fleet_stand.FLEETS[size], 2)
    result = subprocess.run([MAILPROV, "validate", "-i", str(source)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [h.name for h in load_inventory(source).hosts] == list(fleet_stand.FLEETS[size])
    groups = fleet.function_groups(yaml.safe_load((source / "hosts.yml").read_text()))
    assert (groups == {}) == (size == 1)
    if size == 5:
        assert groups["mx"] == ["front1.example.org", "front2.example.org"]
        assert groups["backup_mx"] == ["backupmx.example.org"]
    # What the deploy gets: the copy rehearse's write_overlay makes, with each host's fleet address.
    stands = fleet_stand.plan(source)
    copy = write_overlay(source, tmp_path / "work", stands)
    result = subprocess.run([MAILPROV, "validate", "-i", str(copy)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    addresses = [s.address for s in stands]
    assert addresses == ([None] if size == 1 else [f"10.89.79.{10 + i}" for i in range(size)])
    assert [s.name for s in stands] == [f"mailprov-benchfleet-{i}" for i in range(size)]


def test_ports_distinct_and_clear_of_the_ephemeral_range(fleet_stand) -> None:
    ports = [port for i in range(5) for port in fleet_stand.ports_for(i).values()]
    assert len(set(ports)) == len(ports)
    assert min(ports) >= 32000 and max(ports) < 32768
    assert fleet_stand.ports_for(0)["smtp"] == 32025


def test_the_table_sets_each_figure_beside_its_baseline_and_the_goal(fleet_stand) -> None:
    import bench_fleet  # bench/ is on the path while fleet_stand is in use

    rows = {f"{kind}, {n} host(s)": (seconds * n, 0) for kind, seconds in (("first deploy", 90.0),
            ("no-change re-deploy", 20.0)) for n in (1, 3, 5)}
    rows["first deploy, 5 host(s)"] = (170.0, 9)
    throughput = {bench_fleet.ONE_FRONT: (400, 400, 20.0), bench_fleet.TWO_FRONTS: (400, 400, 12.5)}
    lines = bench_fleet.table(rows, throughput)
    by_figure = {line[:40].strip(): line[40:].split() for line in lines[1:]}
    assert by_figure["first deploy, 1 host(s)"][:3] == ["90.0", "1.00", "baseline"]
    assert by_figure["first deploy, 5 host(s)"][:6] == ["170.0", "1.89", "<=", "2x", "one", "host"]
    assert by_figure["first deploy, 5 host(s)"][6] == "met"
    assert by_figure["no-change re-deploy, 5 host(s)"][1:7] == ["5.00", "<=", "2x", "one", "host", "not"]
    assert by_figure["inbound through 2 MX fronts"][:2] == ["12.5", "1.60"]
    assert "32.0 msg/s" in lines[-1]
    # Without the one-host run there is no ratio, and no verdict
    alone = bench_fleet.table({"first deploy, 5 host(s)": (170.0, 9)}, {})
    assert alone[1].split()[-4:] == ["170.0", "-", "9", "changed"]
