"""A fleet rehearsed (docs/fleet.md): one private network, static addresses, the function groups kept.

Podman and the playbook run are faked; the private inventory is real and read back.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from rehearse_fakes import FakePodman, fake_deploy

from provisioner.cli import main
from provisioner.inventory.probe_account import create as create_probe_account
from provisioner.inventory.store import load_inventory
from provisioner.probe import checks as probe
from provisioner.problems import UsageError
from provisioner.rehearse import fleet
from provisioner.rehearse import rehearsal as rehearse
from provisioner.rehearse.overlay import hosts_document, plan, write_overlay
from provisioner.runner.progress import HostCounts, Progress
from provisioner.runner.run import RunResult
from provisioner.sandbox import container

FLEET_HOSTS = """\
---
all:
  children:
    mailservers:
      hosts:
        front1.example.org: {ansible_host: 198.51.100.10, mail_hostname: front1.example.org}
        backupmx.example.org: {ansible_host: 198.51.100.11, mail_hostname: backupmx.example.org}
        store1.example.org: {ansible_host: 10.0.0.20, mail_hostname: store1.example.org}
        front2.example.org:
          ansible_host: 198.51.100.12
          mail_hostname: front2.example.org
          mailprov_release: bookworm
      children:
        mx: {hosts: {front1.example.org: }}
        submission: {hosts: {front1.example.org: , front2.example.org: }}
        proxy: {hosts: {front1.example.org: , front2.example.org: }}
        backup_mx: {hosts: {backupmx.example.org: }}
        mailbox: {hosts: {store1.example.org: }}
"""
# One mailbox host: every domain is on it, so the sample accounts need no `backend`.
REAL = ("198.51.100.10", "198.51.100.11", "10.0.0.20", "198.51.100.12")
ADDRESSES = {
    "front1.example.org": "10.89.77.10",
    "backupmx.example.org": "10.89.77.11",
    "store1.example.org": "10.89.77.12",
    "front2.example.org": "10.89.77.13",
}


@pytest.fixture
def fleet_inventory(inventory: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MAILPROV_VAULT_PASSWORD_FILE", raising=False)
    (inventory / "hosts.yml").write_text(FLEET_HOSTS)
    create_probe_account(inventory)
    return inventory


def private_hosts(copy: Path) -> dict[str, Any]:
    doc = yaml.safe_load((copy / "hosts.yml").read_text())
    return doc["all"]["children"]["mailservers"]  # type: ignore[no-any-return]


def test_function_groups_are_read_from_the_children_of_mailservers() -> None:
    assert fleet.function_groups(yaml.safe_load(FLEET_HOSTS)) == {
        "mx": ["front1.example.org"],
        "submission": ["front1.example.org", "front2.example.org"],
        "proxy": ["front1.example.org", "front2.example.org"],
        "backup_mx": ["backupmx.example.org"],
        "mailbox": ["store1.example.org"],
    }
    single = {"all": {"children": {"mailservers": {"hosts": {"mail.example.org": None}}}}}
    assert fleet.function_groups(single) == {}
    # Another child group is not a function: no fleet.
    other = {"mailservers": {"hosts": {"a": None}, "children": {"eu": {"hosts": {"a": None}}}}}
    assert fleet.function_groups(other) == {}


def test_addresses_are_static_and_inside_the_fixed_subnet() -> None:
    assert [fleet.address_for(i) for i in (0, 1, 99)] == ["10.89.77.10", "10.89.77.11", "10.89.77.109"]
    assert str(fleet.SUBNET) == "10.89.77.0/24"
    with pytest.raises(ValueError, match="does not fit"):
        fleet.address_for(245)


def test_fleet_overlay_keeps_the_groups_and_gives_each_host_its_container_address(
    fleet_inventory: Path, tmp_path: Path
) -> None:
    stands = plan(load_inventory(fleet_inventory))
    assert {s.host: s.address for s in stands} == ADDRESSES
    assert {s.host: s.release for s in stands}["front2.example.org"] == "bookworm"
    (tmp_path / "work").mkdir()
    copy = write_overlay(fleet_inventory, tmp_path / "work", stands)

    text = (copy / "hosts.yml").read_text()
    for address in REAL:
        assert address not in text
    group = private_hosts(copy)
    assert {h: v["mail_fleet_address"] for h, v in group["hosts"].items()} == ADDRESSES
    assert group["hosts"]["store1.example.org"]["ansible_host"] == "127.0.0.1"
    assert group["children"] == {
        "mx": {"hosts": {"front1.example.org": None}},
        "submission": {"hosts": {"front1.example.org": None, "front2.example.org": None}},
        "proxy": {"hosts": {"front1.example.org": None, "front2.example.org": None}},
        "backup_mx": {"hosts": {"backupmx.example.org": None}},
        "mailbox": {"hosts": {"store1.example.org": None}},
    }
    assert [h.name for h in load_inventory(copy).hosts] == list(ADDRESSES)  # valid, for `check`


def test_the_operators_fleet_address_never_reaches_the_copy(fleet_inventory: Path, tmp_path: Path) -> None:
    original = yaml.safe_load(FLEET_HOSTS)
    hosts = original["all"]["children"]["mailservers"]["hosts"]
    hosts["store1.example.org"]["mail_fleet_address"] = "10.0.0.20"
    stands = plan(load_inventory(fleet_inventory))
    doc = hosts_document(original, stands, tmp_path / "key", tmp_path / "known_hosts")
    entry = doc["all"]["children"]["mailservers"]["hosts"]["store1.example.org"]
    assert entry["mail_fleet_address"] == "10.89.77.12"
    assert "10.0.0.20" not in yaml.safe_dump(doc)


def test_a_fleet_is_rehearsed_whole(fleet_inventory: Path) -> None:
    with pytest.raises(UsageError, match="--limit: a fleet is rehearsed whole"):
        plan(load_inventory(fleet_inventory), "front1.example.org,store1.example.org")


def test_complete_servers_get_no_network_no_groups_no_fleet_address(inventory: Path, tmp_path: Path) -> None:
    stands = plan(load_inventory(inventory))
    assert [s.address for s in stands] == [None]
    (tmp_path / "work").mkdir()
    group = private_hosts(write_overlay(inventory, tmp_path / "work", stands))
    assert "children" not in group
    assert "mail_fleet_address" not in group["hosts"]["mail.example.org"]


def deployed(run: Any, **_: Any) -> RunResult:
    progress = Progress()
    for host in ADDRESSES:
        progress.hosts[host] = HostCounts(ok=30, changed=20)
    return RunResult(rc=0, progress=progress)


def test_fleet_containers_share_the_network_with_static_addresses_and_all_go(
    fleet_inventory: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_deploy(monkeypatch, deployed)
    monkeypatch.setattr(probe, "run_checks", lambda target, **_: [probe.Check(target.host, "imaps", "pass", "")])
    result = CliRunner().invoke(main, ["rehearse", "-i", str(fleet_inventory)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert podman.events[0] == "network mailprov-rehearse-net 10.89.77.0/24"  # before any container
    assert podman.events[-1] == "network rm mailprov-rehearse-net"  # after every container
    by_host = {m.hostname: m for m in podman.started}
    for host, address in ADDRESSES.items():
        machine = by_host[host]
        assert machine.network is not None and machine.network.name == "mailprov-rehearse-net"
        assert machine.address == address and machine.capabilities == ("NET_ADMIN",)
        assert machine.peers == {h: a for h, a in ADDRESSES.items() if h != host}
    assert by_host["front1.example.org"].ports["smtp"] == 16025  # still published on 127.0.0.1
    assert podman.running == set() and podman.networks == []


def test_keep_leaves_the_network_and_says_how_to_remove_it(
    fleet_inventory: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    calls = fake_deploy(monkeypatch, deployed)
    monkeypatch.setattr(probe, "run_checks", lambda target, **_: [])
    result = CliRunner().invoke(main, ["rehearse", "-i", str(fleet_inventory), "--keep"], catch_exceptions=False)
    request.addfinalizer(lambda: shutil.rmtree(calls[0].inventory.parent, ignore_errors=True))
    assert podman.networks == ["mailprov-rehearse-net"] and len(podman.running) == 4
    output = result.output.replace("\n", "")
    assert "podman network rm mailprov-rehearse-net" in output
    assert "mailprov-rehearse-2 (fleet address 10.89.77.12)" in output


def test_a_leftover_network_stops_a_fleet_rehearsal_before_anything_starts(
    fleet_inventory: Path, podman: FakePodman, monkeypatch: pytest.MonkeyPatch
) -> None:
    podman.networks = ["mailprov-rehearse-net"]
    calls = fake_deploy(monkeypatch, deployed)
    result = CliRunner().invoke(main, ["rehearse", "-i", str(fleet_inventory)], catch_exceptions=False)
    assert result.exit_code == 1 and "podman network rm -f mailprov-rehearse-net" in result.output
    assert calls == [] and podman.started == []


def test_podman_run_joins_the_network_at_the_static_address(monkeypatch: pytest.MonkeyPatch) -> None:
    argv: list[tuple[str, ...]] = []

    def record(*args: str, **_: Any) -> subprocess.CompletedProcess[bytes]:
        argv.append(args)
        return subprocess.CompletedProcess(args, 0, b"", b"")

    monkeypatch.setattr(container, "podman", record)
    stands = [rehearse.Stand(0, "a", "trixie", "a.example.org", {"ssh": 16022, **dict.fromkeys(
        container.CONTAINER_PORTS, 1)}, "10.89.77.10")]
    stands.append(rehearse.Stand(1, "b", "trixie", "b.example.org", stands[0].ports, "10.89.77.11"))
    container.start(rehearse.machine_for(stands[0], stands))
    [run] = argv
    assert run[run.index("--network") + 1] == "mailprov-rehearse-net"
    assert run[run.index("--ip") + 1] == "10.89.77.10"
    assert "--cap-add=NET_ADMIN" in run and "--add-host=b.example.org:10.89.77.11" in run
    assert "-p" in run and run[-1] == "localhost/mailprov-debian:trixie"
    container.create_network(rehearse.NETWORK)
    assert argv[-1] == ("network", "create", "--subnet", "10.89.77.0/24", "--label", "mailprov.rehearse=1",
                        "mailprov-rehearse-net")


def test_a_restore_sandbox_is_no_fleet_host() -> None:
    """The restore's stand-in names its container by keyword: positionally it became the fleet
    address (a field added to Stand), and the restore's inventory copy failed validation."""
    from provisioner.backup.sandbox_restore import RestoreStand

    stand = RestoreStand(0, "mail.example.org", "trixie", "mail.example.org", {}, container="box-restore")
    assert (stand.name, stand.address) == ("box-restore", None)
