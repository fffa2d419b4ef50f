"""Client settings in every format, from the sample inventory."""

from __future__ import annotations

import json
import plistlib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from provisioner.inventory import load_inventory
from provisioner.settings import UnknownDomain, client_settings, render


def test_standard_ports_and_full_address(inventory: Path) -> None:
    found = client_settings(load_inventory(inventory), "Alice@Example.org")
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


def test_published_ports_win(inventory: Path) -> None:
    hosts = inventory / "hosts.yml"
    hosts.write_text(
        hosts.read_text() + "          mailprov_probe_address: 127.0.0.1\n"
        "          mailprov_ports: {imaps: 14993, smtps: 14465}\n"
    )
    found = client_settings(load_inventory(inventory), "a@example.org")
    assert (found.incoming[0].hostname, found.incoming[0].port) == ("127.0.0.1", 14993)
    assert found.outgoing[0].port == 14465
    assert found.outgoing[1].port == 587  # not published elsewhere: standard


def test_autoconfig_document(inventory: Path) -> None:
    xml = render(client_settings(load_inventory(inventory), "a@example.org"), "autoconfig")
    root = ET.fromstring(xml)
    provider = root.find("emailProvider")
    assert provider is not None and provider.get("id") == "example.org"
    imap = provider.find("incomingServer[@type='imap']")
    assert imap is not None
    assert imap.findtext("port") == "993" and imap.findtext("socketType") == "SSL"
    assert imap.findtext("username") == "%EMAILADDRESS%"
    assert len(provider.findall("outgoingServer")) == 2


def test_mobileconfig_is_a_stable_plist(inventory: Path) -> None:
    settings = client_settings(load_inventory(inventory), "a@example.org")
    first = render(settings, "mobileconfig")
    assert first == render(settings, "mobileconfig")  # same UUIDs every time
    profile = plistlib.loads(first.encode())
    [account] = profile["PayloadContent"]
    assert account["PayloadType"] == "com.apple.mail.managed"
    assert account["IncomingMailServerPortNumber"] == 993
    assert account["OutgoingMailServerPortNumber"] == 465
    assert "IncomingPassword" not in account


def test_cli_text_and_json(cli: Callable[..., Result]) -> None:
    text = cli("settings", "a@example.org")
    assert text.exit_code == 0
    assert "mail.example.org" in text.output and "993" in text.output
    data = json.loads(cli("settings", "a@example.org", "--format", "json").output)
    assert data["incoming"][0]["port"] == 993


def test_cli_unknown_domain_exit_2(cli: Callable[..., Result]) -> None:
    assert cli("settings", "a@nowhere.example").exit_code == 2
