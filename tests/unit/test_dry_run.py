"""`--dry-run` on every editing command: the YAML diff, no password value, nothing written (issue 18 item 5)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from provisioner.inventory.probe_account import PROBE_FILE_NAME

HASH = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=4$"


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("args", "stdin", "shown"),
    [
        (["domain", "add", "example.net"], None, "+  - name: example.net"),
        (["domain", "add", "example.com", "--alias-of", "example.org"], None, "example.com"),
        (["domain", "remove", "example.org", "--force"], None, "-  - name: example.org"),
        (["user", "add", "bob@example.org", "--password-stdin", "--quota", "1G"], "s3cret-pw\n",
         "+      - address: bob@example.org"),
        (["user", "passwd", "postmaster@example.org", "--password-stdin"], "n3w-pw\n", "password: <not shown>"),
        (["alias", "add", "sales@example.org", "postmaster@example.org"], None, "sales@example.org"),
        (["alias", "remove", "info@example.org"], None, "-      - source: info@example.org"),
        (["probe-account", "create"], None, "mailprov-probe@example.org"),
        (["relay", "set", "--host", "smtp.relay.example", "--username", "me", "--password-stdin"], "relay-pw\n",
         "+mail_relay:"),
    ],
)
def test_dry_run_prints_the_diff_and_writes_nothing(
    cli: Callable[..., Result], inventory: Path, monkeypatch: pytest.MonkeyPatch,
    args: list[str], stdin: str | None, shown: str,
) -> None:
    monkeypatch.delenv("MAILPROV_VAULT_PASSWORD_FILE", raising=False)
    before = snapshot(inventory)
    result = cli(*args, "--dry-run", input=stdin)
    assert result.exit_code == 0, result.output
    assert shown in result.output
    assert "dry run: nothing was written" in result.output
    assert "$argon2id$" not in result.output and "pw" not in result.output.replace("passwd", "")
    assert snapshot(inventory) == before
    assert not (inventory / PROBE_FILE_NAME).exists()


def test_relay_clear_dry_run(cli: Callable[..., Result], inventory: Path) -> None:
    assert cli("relay", "set", "--host", "smtp.relay.example").exit_code == 0
    before = snapshot(inventory)
    result = cli("relay", "clear", "--dry-run")
    assert result.exit_code == 0 and "-mail_relay:" in result.output
    assert snapshot(inventory) == before


def test_an_invalid_edit_is_refused_in_a_dry_run_too(cli: Callable[..., Result], inventory: Path) -> None:
    before = snapshot(inventory)
    result = cli("user", "remove", "nobody@example.org", "--dry-run")
    assert result.exit_code == 2 and "dry run" not in result.output
    assert snapshot(inventory) == before


def test_a_dry_run_that_changes_nothing_says_so(cli: Callable[..., Result], inventory: Path) -> None:
    result = cli("alias", "add", "info@example.org", "postmaster@example.org", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would not change" in result.output or "nothing was written" in result.output


def test_user_import_dry_run(cli: Callable[..., Result], inventory: Path) -> None:
    source = inventory.parent / "users.csv"
    source.write_text("address,password,quota\ncarol@example.org,carol-pw-1,1G\n")
    before = snapshot(inventory)
    result = cli("user", "import", str(source), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "+      - address: carol@example.org" in result.output and "carol-pw" not in result.output
    assert snapshot(inventory) == before
