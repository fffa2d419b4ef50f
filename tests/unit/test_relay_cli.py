"""`mailprov relay`: the inventory edit, the vault file, and what is never shown or written."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from provisioner.inventory import vault, vault_vars
from provisioner.inventory.store import load_inventory

SECRET = "s3cret-{{ not_a_template }}"
MAIN = "group_vars/mailservers/main.yml"
VAULT = "group_vars/mailservers/vault.yml"

Cli = Callable[..., Result]


@pytest.fixture(autouse=True)
def _no_vault_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILPROV_VAULT_PASSWORD_FILE", raising=False)


def decrypt(inventory: Path) -> str:
    plain: bytes = vault.decrypt((inventory / VAULT).read_bytes(), inventory / ".vault-password")
    return plain.decode()


def everything_written(inventory: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in inventory.rglob("*") if p.is_file())


def test_set_from_a_preset_keeps_comments_and_vaults_the_password(cli: Cli, inventory: Path) -> None:
    before = (inventory / MAIN).read_text()
    result = cli("relay", "set", "--provider", "gmail", "--username", "me@gmail.com", "--password-stdin",
                 input=SECRET + "\n")
    assert result.exit_code == 0, result.output
    text = (inventory / MAIN).read_text()
    comments = [line for line in before.splitlines() if line.startswith("#")]
    assert all(line in text.splitlines() for line in comments)
    assert 'password: "{{ vault_mail_relay_password }}"' in text
    relay = load_inventory(inventory).settings.relay
    assert relay is not None
    assert (relay.provider, relay.host, relay.port, relay.tls) == ("gmail", "smtp.gmail.com", 587, "starttls")
    assert SECRET not in everything_written(inventory)  # vault.yml is encrypted; nothing else has it
    assert stat.S_IMODE((inventory / VAULT).stat().st_mode) == 0o600
    assert stat.S_IMODE((inventory / ".vault-password").stat().st_mode) == 0o600
    assert "vault_mail_relay_password: !unsafe" in decrypt(inventory)
    assert vault_vars.read_secret(inventory, "vault_mail_relay_password") == SECRET


def test_show_never_prints_the_password(cli: Cli) -> None:
    cli("relay", "set", "--provider", "ses", "--region", "eu-west-1", "--username", "AKIA", "--password-stdin",
        input=SECRET + "\n")
    for args in (("relay", "show"), ("relay", "show", "--json")):
        result = cli(*args)
        assert result.exit_code == 0
        assert "email-smtp.eu-west-1.amazonaws.com" in result.output
        assert SECRET not in result.output and "s3cret" not in result.output
        assert "vault_mail_relay_password" in result.output


def test_existing_vault_keeps_other_keys_and_password_file(cli: Cli, inventory: Path) -> None:
    password_file = inventory / ".vault-password"
    password_file.write_text("fixed-vault-password\n")
    password_file.chmod(0o600)
    encrypted = vault.encrypt(b"# mine\nvault_other: keep-me\n", password_file)
    (inventory / VAULT).write_bytes(encrypted)
    cli("relay", "set", "--host", "smtp.example.net", "--port", "465", "--username", "u", "--password-stdin",
        input="first\n")
    cli("relay", "set", "--host", "smtp.example.net", "--username", "u", "--password-stdin", input="second\n")
    assert password_file.read_text() == "fixed-vault-password\n"
    plain = decrypt(inventory)
    assert "# mine" in plain and "vault_other: keep-me" in plain
    assert vault_vars.read_secret(inventory, "vault_mail_relay_password") == "second"
    relay = load_inventory(inventory).settings.relay
    assert relay is not None and (relay.port, relay.tls) == (587, "starttls")


def test_implicit_tls_and_sender_domains(cli: Cli, inventory: Path) -> None:
    result = cli("relay", "set", "--host", "smtp.example.net", "--tls", "implicit", "--username", "u",
                 "--password-stdin", "--sender-domain", "Example.ORG", input="pw\n")
    assert result.exit_code == 0, result.output
    relay = load_inventory(inventory).settings.relay
    assert relay is not None and (relay.port, relay.tls, relay.sender_domains) == (465, "implicit", ("example.org",))


@pytest.mark.parametrize(("args", "message"), [
    (("--provider", "gmail"), "needs --username"),
    (("--host", "h.example.net", "--provider", "gmail", "--username", "u"), "either --provider"),
    (("--provider", "gmail", "--region", "eu-west-1", "--username", "u"), "--region applies"),
    (("--host", "h.example.net", "--sender-domain", "other.example", "--username", "u"), "not a domain of this"),
    (("--host", "h.example.net", "--port", "465", "--tls", "starttls", "--username", "u"), "port 465 speaks TLS"),
])
def test_refused_edits_change_nothing(cli: Cli, inventory: Path, args: tuple[str, ...], message: str) -> None:
    before = (inventory / MAIN).read_text()
    result = cli("relay", "set", *args, "--password-stdin", input="pw\n")
    assert result.exit_code == 2
    assert message in result.output
    assert (inventory / MAIN).read_text() == before
    assert not (inventory / VAULT).exists()


def test_clear_removes_relay_and_secret(cli: Cli, inventory: Path) -> None:
    cli("relay", "set", "--provider", "brevo", "--username", "u", "--password-stdin", input="pw\n")
    assert cli("relay", "clear").exit_code == 0
    assert load_inventory(inventory).settings.relay is None
    assert not (inventory / VAULT).exists()
    assert "No relay" in cli("relay", "show").output
    assert "No relay was set" in cli("relay", "clear").output


def test_plaintext_vault_file_is_refused(cli: Cli, inventory: Path) -> None:
    (inventory / VAULT).write_text("vault_x: plain\n")
    result = cli("relay", "set", "--host", "h.example.net", "--username", "u", "--password-stdin", input="pw\n")
    assert result.exit_code == 2 and "not encrypted" in result.output
    assert (inventory / VAULT).read_text() == "vault_x: plain\n"
    assert load_inventory(inventory).settings.relay is None


def test_ansible_reads_the_password_untemplated(cli: Cli, inventory: Path) -> None:
    ansible = shutil.which("ansible", path=str(Path(sys.executable).parent))
    if ansible is None:
        pytest.skip("ansible is not installed next to this Python")
    cli("relay", "set", "--provider", "fastmail", "--username", "u", "--password-stdin", input=SECRET + "\n")
    out = subprocess.run([ansible, "mailservers", "-i", str(inventory), "-m", "ansible.builtin.debug",
                          "-a", "var=mail_relay", "--vault-password-file", str(inventory / ".vault-password")],
                         capture_output=True, text=True, env={**os.environ, "ANSIBLE_NOCOLOR": "1"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert SECRET in out.stdout  # the value as written, not templated
    assert "implicit" in out.stdout
