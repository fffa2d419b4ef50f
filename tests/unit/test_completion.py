"""Shell completion: commands, options, and names from the inventory (issue 18 item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner

from provisioner.cli import main


def complete(args: list[str], incomplete: str) -> list[str]:
    return [c.value for c in ShellComplete(main, {}, "mailprov", "_MAILPROV_COMPLETE").get_completions(args, incomplete)]


def test_commands_and_options() -> None:
    assert "deploy" in complete([], "de")
    assert complete(["user"], "pa") == ["passwd"]
    assert "--no-check" in complete(["deploy"], "--no")


def test_addresses_from_the_inventory_named_by_i(inventory: Path) -> None:
    inv = str(inventory)
    assert complete(["user", "passwd", "-i", inv], "") == ["postmaster@example.org"]
    assert complete(["user", "passwd", "-i", inv], "POST") == ["postmaster@example.org"]
    assert complete(["alias", "remove", "-i", inv], "in") == ["info@example.org"]
    assert "postmaster@example.org" in complete(["alias", "add", "-i", inv, "info@example.org"], "")
    assert complete(["domain", "remove", "-i", inv], "ex") == ["example.org"]
    assert complete(["user", "add", "-i", inv], "bob@ex") == ["bob@example.org"]
    assert complete(["check", "-i", inv, "-l"], "") == ["mail.example.org"]
    assert complete(["deploy", "-i", inv, "-l"], "mail.example.org,m") == ["mail.example.org,mail.example.org"]


def test_default_inventory_from_the_environment(inventory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILPROV_INVENTORY", str(inventory))
    assert complete(["settings"], "p") == ["postmaster@example.org"]


@pytest.mark.parametrize("broken", ["missing", "not yaml: [", "mail_domains: 7\n"])
def test_a_broken_or_missing_inventory_completes_nothing_silently(inventory: Path, broken: str) -> None:
    if broken == "missing":
        target = inventory.parent / "nowhere"
    else:
        (inventory / "group_vars" / "mailservers" / "accounts.yml").write_text(broken)
        target = inventory
    assert complete(["user", "remove", "-i", str(target)], "") == []


def test_the_shell_protocol_end_to_end(inventory: Path) -> None:
    env = {"_MAILPROV_COMPLETE": "bash_complete", "COMP_WORDS": f"mailprov user passwd -i {inventory} po",
           "COMP_CWORD": "5"}
    result = CliRunner().invoke(main, [], env=env, prog_name="mailprov")
    assert result.exit_code == 0 and result.output == "plain,postmaster@example.org\n"
    assert result.stderr == ""
