from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from argon2 import PasswordHasher
from click.testing import Result

from provisioner.inventory.store import load_inventory

Cli = Callable[..., Result]


def test_init_writes_a_commented_valid_inventory(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "prod"
    result = cli("init", str(target), "--domain", "Bücher.example", "--hostname", "mx.bücher.example",
                 "--host", "198.51.100.7", with_inventory=False)
    assert result.exit_code == 0, result.output
    inventory = load_inventory(target)
    assert inventory.settings.mail_hostname == "mx.xn--bcher-kva.example"
    assert inventory.hosts[0].address == "198.51.100.7"
    assert [m.address for m in inventory.mailboxes] == ["postmaster@xn--bcher-kva.example"]
    accounts = (target / "group_vars/mailservers/accounts.yml").read_text()
    assert accounts.count("\n#") + accounts.count("  # ") >= 3, "the sample's comments come along"
    assert "example.org" not in (target / "hosts.yml").read_text()
    password = result.output.split("has the password ")[1].split()[0]
    stored = inventory.mailboxes[0].password.removeprefix("{ARGON2ID}")
    assert PasswordHasher().verify(stored, password)
    assert password not in accounts
    assert f"mailprov user passwd postmaster@xn--bcher-kva.example -i {target}" in result.output


def test_init_refuses_to_overwrite(cli: Cli, inventory: Path) -> None:
    before = sorted(p.read_bytes() for p in inventory.rglob("*.yml"))
    result = cli("init", str(inventory), "--domain", "example.com", "--hostname", "mail.example.com",
                 with_inventory=False)
    assert result.exit_code == 2 and "already exists" in result.output
    assert sorted(p.read_bytes() for p in inventory.rglob("*.yml")) == before


def test_init_rejects_bad_names_and_leaves_nothing(cli: Cli, tmp_path: Path) -> None:
    result = cli("init", str(tmp_path / "new"), "--domain", "not a domain", "--hostname", "mail.example.com",
                 with_inventory=False)
    assert result.exit_code == 2
    assert not (tmp_path / "new").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".new.")]
