"""Sandbox layout and the inventory it writes (no container needed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from provisioner.inventory.ports import host_ports, probe_address
from provisioner.inventory.probe_account import load as load_probe
from provisioner.inventory.store import load_inventory
from provisioner.rehearse import overlay
from provisioner.sandbox import container
from provisioner.sandbox import server as sandbox

E2E_SUPPORT = Path(__file__).resolve().parents[1] / "e2e" / "sandbox_support.py"


@pytest.fixture(autouse=True)
def demo_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No sandbox name or ports from the caller's environment: the defaults are the demo's."""
    for name in (sandbox.NAME_ENV, sandbox.PORT_BASE_ENV, sandbox.STATE_ENV):
        monkeypatch.delenv(name, raising=False)


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
    assert offline == {**container.OFFLINE_VARS, "mail_webmail": {"enabled": True}}
    assert inv.settings.webmail.enabled  # the demo shows the webmail
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


def test_name_and_ports_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sandbox.NAME_ENV, "mailprov-other")
    monkeypatch.setenv(sandbox.PORT_BASE_ENV, "20000")
    trixie, bookworm = (sandbox.sandbox_for(r, tmp_path) for r in ("trixie", "bookworm"))
    assert trixie.name == "mailprov-other-trixie" and trixie.ports()["smtp"] == 20025
    assert bookworm.ports()["smtp"] == 21025


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (sandbox.NAME_ENV, "Bad Name", "not a container name"),
        (sandbox.PORT_BASE_ENV, "lots", "not a number"),
        (sandbox.PORT_BASE_ENV, "80", "wants a number from 1024"),
        (sandbox.PORT_BASE_ENV, "31000", "below Linux's ephemeral ports"),
    ],
)
def test_bad_name_or_port_base_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(sandbox.SandboxError, match=message):
        sandbox.sandbox_for("trixie", tmp_path)


def e2e_support() -> ModuleType:
    """tests/e2e/sandbox_support.py, which the e2e tests import from their own folder."""
    spec = importlib.util.spec_from_file_location("e2e_sandbox_support", E2E_SUPPORT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_e2e_sandbox_is_apart_from_the_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make demo` then `make test`: the e2e tests never meet the demo's container, ports or state."""
    support = e2e_support()
    demo = [sandbox.sandbox_for(r, tmp_path / "demo") for r in sandbox.RELEASES]
    e2e = [support.e2e_sandbox(r, tmp_path / "e2e") for r in sandbox.RELEASES]
    assert demo[0].name == "mailprov-sandbox-trixie"  # what README, demo.sh and docs name
    assert {b.name for b in demo}.isdisjoint(b.name for b in e2e)
    demo_ports = {p for b in demo for p in b.ports().values()}
    e2e_ports = {p for b in e2e for p in b.ports().values()}
    assert demo_ports.isdisjoint(e2e_ports)
    # Nor the rehearsal e2e tests' containers, which may run beside them (`make -j`).
    rehearsal_ports = {p for i in range(overlay.MAX_HOSTS) for p in overlay.ports_for(i).values()}
    assert e2e_ports.isdisjoint(rehearsal_ports)
    assert all(1024 <= p < 32768 for p in e2e_ports)
    # The real `mailprov` the e2e tests run reads its sandbox from this environment.
    environ = support.e2e_environ(tmp_path / "e2e")
    for name in (sandbox.STATE_ENV, sandbox.NAME_ENV, sandbox.PORT_BASE_ENV):
        monkeypatch.setenv(name, environ[name])
    assert [sandbox.sandbox_for(r) for r in sandbox.RELEASES] == e2e  # state folder included
