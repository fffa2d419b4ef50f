"""Client settings in every format, from the sample inventory."""

from __future__ import annotations

import json
import plistlib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from provisioner.inventory.logins import NoLogin
from provisioner.inventory.store import load_inventory
from provisioner.probe.client_settings import UnknownDomain, client_settings, render


@pytest.fixture
def accounts(inventory: Path, accounts_file: Path) -> Path:
    """The sample plus an alias domain, a second mailbox, a fan-out alias, a catch-all."""
    text = accounts_file.read_text()
    hash_line = next(line for line in text.splitlines() if "password:" in line)
    text = text.replace("alias_domains: []", "alias_domains: [example.net]")
    text = text.replace("# catch_all: [postmaster@example.org]", "catch_all: [postmaster@example.org]")
    text = text.replace(
        "    aliases:\n      - source: info@example.org",
        "      - address: alice@example.org\n"
        f"{hash_line}\n"
        "    aliases:\n"
        "      - {source: team@example.org, targets: [postmaster@example.org, alice@example.net]}\n"
        "      - {source: alice-ext@example.org, targets: [alice@example.net, someone@example.com]}\n"
        "      - {source: outside@example.org, targets: [someone@example.com]}\n"
        "      - source: info@example.org",
    )
    accounts_file.write_text(text)
    return inventory


@pytest.mark.parametrize(
    ("address", "username"),
    [
        ("Alice@Example.org", "alice@example.org"),  # a mailbox
        ("postmaster@example.net", "postmaster@example.org"),  # alias domain
        ("abuse@example.org", "postmaster@example.org"),  # the mailbox's own alias
        ("abuse@example.net", "postmaster@example.org"),  # both
        ("info@example.org", "postmaster@example.org"),  # alias, one target
        ("alice-ext@example.org", "alice@example.org"),  # one local mailbox among its targets
    ],
)
def test_username_is_the_mailbox_that_logs_in(accounts: Path, address: str, username: str) -> None:
    found = client_settings(load_inventory(accounts), address)
    assert found.username == username
    assert {s.username for s in found.incoming + found.outgoing} == {username}
    assert found.address == address.lower()
    assert found.domain == "example.org"


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("nobody@example.org", "not a mailbox"),  # only the catch-all would take it
        ("nobody@example.net", "not a mailbox"),
        ("team@example.org", "alice@example.org, postmaster@example.org"),
        ("outside@example.org", "no local mailbox"),
    ],
)
def test_no_username_for_what_cannot_log_in(accounts: Path, address: str, reason: str) -> None:
    with pytest.raises(NoLogin, match=reason):
        client_settings(load_inventory(accounts), address)


def test_standard_ports_and_full_address(accounts: Path) -> None:
    found = client_settings(load_inventory(accounts), "Alice@Example.org")
    assert found.address == "alice@example.org"
    assert [(s.protocol, s.port, s.security) for s in found.incoming] == [
        ("imap", 993, "SSL"),
        ("pop3", 995, "SSL"),
    ]
    assert [(s.protocol, s.port, s.security) for s in found.outgoing] == [
        ("smtp", 465, "SSL"),
        ("smtp", 587, "STARTTLS"),
    ]
    assert {s.hostname for s in found.incoming + found.outgoing} == {"mail.example.org"}
    assert {s.username for s in found.incoming} == {"alice@example.org"}


def test_unknown_domain_says_how_to_fix(inventory: Path) -> None:
    with pytest.raises(UnknownDomain, match=r"mailprov domain add example\.com"):
        client_settings(load_inventory(inventory), "bob@example.com")


@pytest.mark.parametrize("fmt", ["text", "json", "autoconfig", "mobileconfig"])
def test_an_address_at_a_known_provider_gets_the_providers_servers(inventory: Path, fmt: str) -> None:
    found = client_settings(load_inventory(inventory), "Someone@Gmail.com")
    assert ("imap", "imap.gmail.com", 993, "SSL") in {(s.protocol, s.hostname, s.port, s.security) for s in found.incoming}
    assert found.username == "someone@gmail.com"
    assert found.login_hint.startswith("an app password")
    assert "imap.gmail.com" in render(found, fmt)


def test_published_ports_win(inventory: Path) -> None:
    hosts = inventory / "hosts.yml"
    hosts.write_text(
        hosts.read_text() + "          mailprov_probe_address: 127.0.0.1\n"
        "          mailprov_ports: {imaps: 14993, smtps: 14465}\n"
    )
    found = client_settings(load_inventory(inventory), "postmaster@example.org")
    assert (found.incoming[0].hostname, found.incoming[0].port) == ("127.0.0.1", 14993)
    assert found.outgoing[0].port == 14465
    assert found.outgoing[1].port == 587  # not published elsewhere: standard


def test_autoconfig_document(inventory: Path) -> None:
    xml = render(client_settings(load_inventory(inventory), "postmaster@example.org"), "autoconfig")
    root = ET.fromstring(xml)
    provider = root.find("emailProvider")
    assert provider is not None and provider.get("id") == "example.org"
    imap = provider.find("incomingServer[@type='imap']")
    assert imap is not None
    assert imap.findtext("port") == "993" and imap.findtext("socketType") == "SSL"
    assert imap.findtext("username") == "postmaster@example.org"
    assert len(provider.findall("outgoingServer")) == 2


def test_documents_carry_the_mailbox_username(accounts: Path) -> None:
    found = client_settings(load_inventory(accounts), "abuse@example.net")
    root = ET.fromstring(render(found, "autoconfig"))
    assert {el.text for el in root.iter("username")} == {"postmaster@example.org"}
    [account] = plistlib.loads(render(found, "mobileconfig").encode())["PayloadContent"]
    assert account["IncomingMailServerUsername"] == "postmaster@example.org"
    assert account["OutgoingMailServerUsername"] == "postmaster@example.org"
    assert account["EmailAddress"] == "abuse@example.net"
    assert "Username:        postmaster@example.org" in render(found, "text")


def test_mobileconfig_is_a_stable_plist(inventory: Path) -> None:
    settings = client_settings(load_inventory(inventory), "postmaster@example.org")
    first = render(settings, "mobileconfig")
    assert first == render(settings, "mobileconfig")  # same UUIDs every time
    profile = plistlib.loads(first.encode())
    [account] = profile["PayloadContent"]
    assert account["PayloadType"] == "com.apple.mail.managed"
    assert account["IncomingMailServerPortNumber"] == 993
    assert account["OutgoingMailServerPortNumber"] == 465
    assert "IncomingPassword" not in account


def test_cli_text_and_json(cli: Callable[..., Result]) -> None:
    text = cli("settings", "postmaster@example.org")
    assert text.exit_code == 0
    assert "mail.example.org" in text.output and "993" in text.output
    data = json.loads(cli("settings", "postmaster@example.org", "--format", "json").output)
    assert data["incoming"][0]["port"] == 993


def test_cli_unknown_domain_exit_2(cli: Callable[..., Result]) -> None:
    result = cli("settings", "a@nowhere.example", "--offline")
    assert result.exit_code == 2
    assert "without --offline mailprov looks it up" in result.output


def test_cli_not_a_mailbox_exit_2(cli: Callable[..., Result]) -> None:
    result = cli("settings", "nobody@example.org")
    assert result.exit_code == 2
    assert "nobody@example.org is not a mailbox" in result.output
    assert "Username" not in result.output


def test_cli_known_provider_needs_no_inventory(tmp_path: Path) -> None:
    """"What is my mail server?" for aol.com works before any inventory exists."""
    from click.testing import CliRunner

    from provisioner.cli import main

    result = CliRunner().invoke(main, ["settings", "z@aol.com", "--offline", "-i", str(tmp_path / "none")])
    assert result.exit_code == 0, result.output
    assert "imap.aol.com" in result.output and "smtp.aol.com" in result.output


def test_cli_broken_inventory_is_still_an_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from provisioner.cli import main

    (tmp_path / "hosts.yml").write_text("all: [\n")
    result = CliRunner().invoke(main, ["settings", "z@aol.com", "--offline", "-i", str(tmp_path)])
    assert result.exit_code == 2
