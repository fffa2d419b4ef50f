"""Sandbox layout and the inventory it writes (no container needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from provisioner.inventory.ports import host_ports, probe_address
from provisioner.inventory.probe_account import load as load_probe
from provisioner.inventory.store import load_inventory
from provisioner.sandbox import container
from provisioner.sandbox import server as sandbox


def test_port_ranges_per_release(tmp_path: Path) -> None:
    trixie = sandbox.sandbox_for("trixie", tmp_path).ports()
    bookworm = sandbox.sandbox_for("bookworm", tmp_path).ports()
    assert trixie["ssh"] == 14022 and trixie["smtp"] == 14025 and trixie["managesieve"] == 14190
    assert bookworm["imaps"] == 15993
    assert all(14000 <= p < 15000 for p in trixie.values())
    assert len(set(trixie.values())) == len(trixie)


def test_unknown_release(tmp_path: Path) -> None:
    with pytest.raises(sandbox.SandboxError):
        sandbox.sandbox_for("sid", tmp_path)


def test_written_inventory_is_valid_and_probeable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAILPROV_VAULT_PASSWORD_FILE", raising=False)
    box = sandbox.sandbox_for("trixie", tmp_path)
    password = sandbox.write_inventory(box)
    assert password
    inv = load_inventory(box.inventory)
    [host] = inv.hosts
    assert host_ports(host)["smtps"] == 14465
    assert probe_address(host) == "127.0.0.1"
    # rspamd in the throwaway container looks nothing up outside it (a role variable, so a
    # group_vars file the loader accepts).
    offline = yaml.safe_load((box.inventory / "group_vars" / "mailservers" / "sandbox.yml").read_text())
    assert offline == dict(container.OFFLINE_VARS)
    assert host.vars["ansible_port"] == 14022
    addresses = {m.address for m in inv.mailboxes}
    assert {sandbox.DEMO_USER, sandbox.PROBE_USER} <= addresses
    # Only hashes in the inventory; the probe password only in the vault file.
    text = "".join(p.read_text() for p in box.inventory.rglob("*.yml"))
    assert password not in text
    creds = load_probe(box.inventory)
    assert creds is not None and creds.address == sandbox.PROBE_USER
    assert creds.password not in text
    assert (box.inventory / ".vault-password").stat().st_mode & 0o077 == 0
    # A second `up` keeps accounts and shows no password again.
    assert sandbox.write_inventory(box) is None
