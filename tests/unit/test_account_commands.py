"""`mailprov domain|user|alias`: round-trip edits that keep the file as the operator wrote it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from click.testing import Result

from provisioner.inventory.store import load_inventory

Cli = Callable[..., Result]


def test_edits_keep_comments_order_and_quoting(cli: Cli, accounts_file: Path) -> None:
    before = accounts_file.read_text()
    assert cli("domain", "add", "example.com").exit_code == 0
    assert cli("user", "add", "alice@example.com", "--password-stdin", input="pw1\n").exit_code == 0
    after = accounts_file.read_text()
    assert after.startswith(before.rstrip("\n")), "existing lines, comments included, must stay as they were"
    assert "  - name: example.com\n    mailboxes:\n      - address: alice@example.com\n" in after


def test_user_add_stores_only_a_verifiable_argon2id_hash(cli: Cli, inventory: Path, accounts_file: Path) -> None:
    result = cli("user", "add", "Bob@Example.ORG", "--password-stdin", "--quota", "500m", input="s3cret pass\n")
    assert result.exit_code == 0, result.output
    assert "s3cret" not in accounts_file.read_text()
    bob = next(m for m in load_inventory(inventory).mailboxes if m.address == "bob@example.org")
    assert bob.quota == "500M"
    assert PasswordHasher().verify(bob.password.removeprefix("{ARGON2ID}"), "s3cret pass")


def test_user_passwd_replaces_the_hash(cli: Cli, inventory: Path) -> None:
    assert cli("user", "passwd", "postmaster@example.org", "--password-stdin", input="new-pw\n").exit_code == 0
    pm = load_inventory(inventory).mailboxes[0]
    assert PasswordHasher().verify(pm.password.removeprefix("{ARGON2ID}"), "new-pw")


def test_user_add_imports_an_existing_hash(cli: Cli, inventory: Path) -> None:
    imported = "$6$saltsalt$" + "a" * 86
    assert cli("user", "add", "old@example.org", "--password-hash", imported).exit_code == 0
    old = next(m for m in load_inventory(inventory).mailboxes if m.address == "old@example.org")
    assert old.password == "{SHA512-CRYPT}" + imported


def test_prompt_without_a_terminal_asks_for_password_stdin(cli: Cli) -> None:
    result = cli("user", "add", "carol@example.org")
    assert result.exit_code == 2
    assert "--password-stdin" in result.output


def test_user_list_and_json(cli: Cli) -> None:
    cli("user", "add", "bob@example.org", "--password-stdin", "--quota", "1G", input="pw\n")
    rows = json.loads(cli("user", "list", "--json").output)
    assert [r["address"] for r in rows] == ["postmaster@example.org", "bob@example.org"]
    assert rows[1]["quota"] == "1G"
    assert "password" not in json.dumps(rows)
    plain = cli("user", "list").output
    assert "bob@example.org\t1G" in plain


def test_alias_add_extend_remove_and_catch_all(cli: Cli, inventory: Path) -> None:
    assert cli("alias", "add", "sales@example.org", "postmaster@example.org", "ext@example.com").exit_code == 0
    assert cli("alias", "add", "sales@example.org", "other@example.net").exit_code == 0
    assert cli("alias", "add", "@example.org", "postmaster@example.org").exit_code == 0
    domain = load_inventory(inventory).domains[0]
    sales = next(a for a in domain.aliases if a.source == "sales@example.org")
    assert sales.targets == ("postmaster@example.org", "ext@example.com", "other@example.net")
    assert domain.catch_all == ("postmaster@example.org",)
    kinds = {r["source"]: r["kind"] for r in json.loads(cli("alias", "list", "--json").output)}
    assert kinds == {"@example.org": "catch-all", "info@example.org": "alias", "sales@example.org": "alias",
                     "abuse@example.org": "mailbox alias", "hostmaster@example.org": "mailbox alias"}
    assert cli("alias", "remove", "sales@example.org", "ext@example.com").exit_code == 0
    assert cli("alias", "remove", "@example.org").exit_code == 0
    assert cli("alias", "remove", "info@example.org").exit_code == 0
    domain = load_inventory(inventory).domains[0]
    assert [a.targets for a in domain.aliases] == [("postmaster@example.org", "other@example.net")]
    assert domain.catch_all == ()


def test_domain_remove_refuses_a_domain_in_use_unless_forced(cli: Cli, inventory: Path) -> None:
    result = cli("domain", "remove", "example.org")
    assert result.exit_code == 2 and "--force" in result.output
    assert cli("domain", "remove", "example.org", "--force").exit_code == 0
    assert load_inventory(inventory).domains == ()


def test_user_remove_refuses_while_an_alias_points_at_it(cli: Cli) -> None:
    result = cli("user", "remove", "postmaster@example.org")
    assert result.exit_code == 2
    assert "mailprov alias remove info@example.org postmaster@example.org" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("domain", "add", "example.org"), "already a mail domain"),
        (("domain", "add", "bad_domain"), "not a valid domain name"),
        (("user", "add", "x@nowhere.org", "--password-hash", "$6$saltsalt$" + "a" * 86), "add it with `mailprov domain add nowhere.org`"),
        (("user", "add", "postmaster@example.org", "--password-hash", "$6$saltsalt$" + "a" * 86), "already has a mailbox"),
        (("user", "add", "x@example.org", "--password-hash", "hunter2"), "not an {ARGON2ID}"),
        (("user", "add", "x@example.org", "--password-hash", "$6$saltsalt$" + "a" * 86, "--quota", "big"), "is not a quota"),
        (("user", "passwd", "ghost@example.org", "--password-hash", "$6$saltsalt$" + "a" * 86), "has no mailbox"),
        (("alias", "add", "abuse@example.org", "x@example.com"), "already an alias of postmaster@example.org"),
        (("alias", "add", "info@example.org", "ghost@example.org"), "ghost@example.org is a local address with no mailbox"),
        (("alias", "remove", "nothing@example.org"), "is not an alias"),
        (("alias", "remove", "info@example.org", "x@example.com"), "does not deliver to x@example.com"),
    ],
)
def test_refused_edits_exit_2_and_change_nothing(cli: Cli, accounts_file: Path, args: tuple[str, ...], message: str) -> None:
    before = accounts_file.read_bytes()
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert accounts_file.read_bytes() == before
    assert not [p for p in accounts_file.parent.iterdir() if p.name.endswith(".tmp")]


def test_an_invalid_inventory_blocks_every_command(cli: Cli, inventory: Path, accounts_file: Path) -> None:
    main_yml = inventory / "group_vars" / "mailservers" / "main.yml"
    main_yml.write_text(main_yml.read_text().replace("mode: selfsigned", "mode: bogus"))
    before = accounts_file.read_bytes()
    for args in (("validate",), ("user", "list"), ("domain", "add", "example.com"),
                 ("alias", "add", "a@example.org", "postmaster@example.org")):
        result = cli(*args)
        assert result.exit_code == 2, args
        assert "main.yml: mail_tls.mode: 'bogus' is not a TLS mode" in result.output
    assert accounts_file.read_bytes() == before


def test_validate_prints_a_one_line_summary(cli: Cli) -> None:
    result = cli("validate")
    assert result.exit_code == 0
    assert result.output.strip().endswith("valid: 1 host, 1 domain, 1 mailbox, 1 alias")


def test_inventory_defaults_to_the_environment_variable(cli: Cli, inventory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILPROV_INVENTORY", str(inventory))
    assert cli("validate", with_inventory=False).exit_code == 0
    monkeypatch.delenv("MAILPROV_INVENTORY")
    monkeypatch.chdir(inventory.parent)
    assert cli("validate", with_inventory=False).exit_code == 0  # ./inventory
    monkeypatch.chdir(inventory)
    result = cli("validate", with_inventory=False)
    assert result.exit_code == 2 and "mailprov init" in result.output


def test_write_keeps_the_file_mode(cli: Cli, accounts_file: Path) -> None:
    os.chmod(accounts_file, 0o640)
    cli("domain", "add", "example.com")
    assert accounts_file.stat().st_mode & 0o777 == 0o640


def test_accounts_file_is_created_when_missing_readable_by_its_owner_only(
    cli: Cli, inventory: Path, accounts_file: Path
) -> None:
    accounts_file.unlink()
    assert cli("domain", "add", "example.com").exit_code == 0
    assert [d.name for d in load_inventory(inventory).domains] == ["example.com"]
    assert accounts_file.stat().st_mode & 0o777 == 0o600


def test_a_vault_encrypted_accounts_file_is_refused_not_overwritten(cli: Cli, accounts_file: Path) -> None:
    accounts_file.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n")
    for args in (("validate",), ("domain", "add", "example.com")):
        result = cli(*args)
        assert result.exit_code == 2
        assert "encrypted with Ansible Vault" in result.output
    assert accounts_file.read_text().startswith("$ANSIBLE_VAULT;")


def test_a_newline_in_an_address_is_refused(cli: Cli, accounts_file: Path) -> None:
    before = accounts_file.read_bytes()
    result = cli("user", "add", "eve\n@example.org", "--password-stdin", input="pw\n")
    assert result.exit_code == 2
    assert accounts_file.read_bytes() == before


def test_alias_domains_are_added_and_removed(cli: Cli, inventory: Path) -> None:
    assert cli("domain", "add", "Example.NET", "--alias-of", "example.org").exit_code == 0
    assert load_inventory(inventory).domains[0].alias_domains == ("example.net",)
    assert cli("alias", "add", "sales@example.net", "postmaster@example.org").exit_code == 0
    refused = cli("domain", "remove", "example.net")
    assert refused.exit_code == 2 and "sales@example.net is not in this domain" in refused.output
    assert cli("alias", "remove", "sales@example.net").exit_code == 0
    assert cli("domain", "remove", "example.net").exit_code == 0
    assert load_inventory(inventory).domains[0].alias_domains == ()
    assert cli("domain", "add", "example.net", "--alias-of", "nowhere.org").exit_code == 2


def test_concurrent_edits_lose_nothing(inventory: Path) -> None:
    """The folder lock serialises writers: every one of many simultaneous edits lands."""
    import threading

    from provisioner.inventory import accounts as edits
    from provisioner.inventory.store import edit_accounts

    imported = "{SHA512-CRYPT}$6$saltsalt$" + "a" * 86

    def add(n: int) -> None:
        with edit_accounts(inventory) as domains:
            edits.add_mailbox(domains, f"user{n}@example.org", imported, None)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    addresses = {m.address for m in load_inventory(inventory).mailboxes}
    assert {f"user{n}@example.org" for n in range(12)} <= addresses
