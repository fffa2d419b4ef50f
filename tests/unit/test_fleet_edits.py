"""The CLI's account edits in a fleet: `domain add --backend` checked against the mailbox
hosts, and every rewrite of accounts.yml keeps each domain's backend."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result
from fleet_inventory import DOMAINS, GROUPS, HOSTS, write_fleet

from provisioner.inventory.store import load_inventory

Cli = Callable[..., Result]


def backends(inventory: Path) -> dict[str, str | None]:
    return {d.name: d.backend for d in load_inventory(inventory).domains}


def test_domain_add_writes_the_backend_it_is_given(inventory: Path, cli: Cli) -> None:
    write_fleet(inventory)
    result = cli("domain", "add", "example.com", "--backend", "store2.example.org")
    assert result.exit_code == 0, result.output
    assert "Added domain example.com on store2.example.org" in result.output
    assert backends(inventory)["example.com"] == "store2.example.org"
    listed = json.loads(cli("domain", "list", "--json").output)
    assert {r["name"]: r["backend"] for r in listed} == {
        "example.org": "store1.example.org", "example.net": "store2.example.org", "example.com": "store2.example.org"}


def test_domain_add_refuses_a_missing_or_wrong_backend(inventory: Path, cli: Cli, accounts_file: Path) -> None:
    write_fleet(inventory)
    before = accounts_file.read_text()
    missing = cli("domain", "add", "example.com")
    assert missing.exit_code == 2
    assert "--backend HOST is needed: say which mailbox host holds the domain " \
           "(store1.example.org, store2.example.org)" in missing.output
    wrong = cli("domain", "add", "example.com", "--backend", "mx1.example.org")
    assert wrong.exit_code == 2
    assert "'mx1.example.org' is not a host of the mailbox group: use one of store1.example.org, " \
           "store2.example.org" in wrong.output
    alias = cli("domain", "add", "example.com", "--alias-of", "example.org", "--backend", "store1.example.org")
    assert alias.exit_code == 2 and "leave out --backend" in alias.output
    assert "Traceback" not in missing.output + wrong.output + alias.output
    assert accounts_file.read_text() == before


def test_domain_add_needs_no_backend_with_one_mailbox_host(inventory: Path, cli: Cli) -> None:
    hosts = {name: values for name, values in HOSTS.items() if name != "store2.example.org"}
    write_fleet(inventory, hosts, {**GROUPS, "mailbox": ["store1.example.org"]}, [])
    result = cli("domain", "add", "example.com")
    assert result.exit_code == 0, result.output
    loaded = load_inventory(inventory)
    assert [(d.name, d.backend) for d in loaded.domains] == [("example.com", None)]
    assert getattr(loaded.backend_of(loaded.domains[0]), "name", None) == "store1.example.org"


def test_backend_is_refused_without_function_groups(cli: Cli) -> None:
    result = cli("domain", "add", "example.com", "--backend", "mail.example.org")
    assert result.exit_code == 2
    assert "--backend is for a fleet" in result.output


def test_edits_keep_every_backend(inventory: Path, cli: Cli, accounts_file: Path) -> None:
    write_fleet(inventory, domains=[DOMAINS[0], {**DOMAINS[1], "previous_backend": "store1.example.org"}])
    for args in (("user", "add", "bob@example.net", "--password-stdin"),
                 ("alias", "add", "info@example.org", "alice@example.org"),
                 ("user", "passwd", "bob@example.net", "--password-stdin"),
                 ("domain", "add", "example.com", "--backend", "store1.example.org"),
                 ("domain", "remove", "example.com"),
                 ("user", "remove", "bob@example.net")):
        result = cli(*args, input="a long password 1\n")
        assert result.exit_code == 0, (args, result.output)
        loaded = load_inventory(inventory)
        assert {d.name: (d.backend, d.previous_backend) for d in loaded.domains if d.name != "example.com"} == {
            "example.org": ("store1.example.org", None),
            "example.net": ("store2.example.org", "store1.example.org")}, args
    assert accounts_file.read_text().count("backend: store") == 3
