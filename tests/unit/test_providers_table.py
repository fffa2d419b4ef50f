"""The provider table (providers.toml): its shape, its sources, and who answers for what."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from provisioner.inventory.store import load_inventory
from provisioner.probe.client_settings import client_settings
from provisioner.providers import relay_presets, table

# The issue's list: each must answer offline, from the table.
REQUIRED = {
    "someone@gmail.com": "gmail", "someone@googlemail.com": "gmail",
    "someone@outlook.com": "outlook", "someone@hotmail.com": "outlook", "someone@live.com": "outlook",
    "someone@msn.com": "outlook", "someone@hotmail.co.uk": "outlook", "someone@contoso.onmicrosoft.com": "microsoft365",
    "someone@yahoo.com": "yahoo", "w@yahoo.co.uk": "yahoo", "someone@yahoo.de": "yahoo", "someone@yahoo.fr": "yahoo",
    "someone@ymail.com": "yahoo", "someone@rocketmail.com": "yahoo",
    "z@aol.com": "aol", "someone@aim.com": "aol",
    "someone@icloud.com": "icloud", "someone@me.com": "icloud", "someone@mac.com": "icloud",
    "y@gmx.de": "gmx", "someone@gmx.net": "gmx", "someone@gmx.at": "gmx", "someone@gmx.ch": "gmx",
    "someone@gmx.com": "gmx-com", "someone@web.de": "webde", "someone@mail.com": "mailcom",
    "someone@email.com": "mailcom", "someone@yandex.ru": "yandex", "someone@yandex.com": "yandex",
    "someone@zoho.com": "zoho", "someone@zohomail.eu": "zoho-eu", "someone@fastmail.com": "fastmail",
    "someone@proton.me": "proton", "someone@protonmail.com": "proton",
    "someone@t-online.de": "t-online", "someone@orange.fr": "orange", "someone@wanadoo.fr": "orange",
    "someone@free.fr": "free", "someone@libero.it": "libero", "someone@virgilio.it": "virgilio",
    "someone@comcast.net": "comcast", "someone@att.net": "att", "someone@sbcglobal.net": "att",
    "someone@btinternet.com": "bt", "someone@sky.com": "sky",
}


def test_every_entry_has_its_shape_a_source_and_a_date() -> None:
    providers = table.providers()
    assert len(providers) >= 40
    for p in providers:
        assert p.source.startswith(("https://", "http://")), p.id
        assert p.confirmed_by is None or p.confirmed_by.startswith("https://github.com/thunderbird/autoconfig/")
        assert dt.date(2026, 1, 1) <= p.checked <= dt.date.today(), p.id
        assert p.auth and set(p.auth) <= set(table.AUTH_KINDS), p.id
        assert p.smtp is not None and (p.imap or p.pop3) is not None, p.id
        assert p.domains or p.mx, p.id
        for s in p.servers:
            # two sourced exceptions: Proton Mail Bridge's local ports, Spectrum's SSL on 587
            assert (s.security == "ssl") == (s.port in (465, 993, 995)) or p.id in ("proton", "spectrum"), (p.id, s)


def test_a_domain_belongs_to_one_provider_only() -> None:
    seen: dict[str, str] = {}
    for p in table.providers():
        for d in p.domains:
            assert d not in seen, f"{d}: {seen.get(d)} and {p.id}"
            seen[d] = p.id


@pytest.mark.parametrize(("address", "provider"), sorted(REQUIRED.items()))
def test_the_issues_addresses_answer_offline(inventory: Path, address: str, provider: str) -> None:
    found = client_settings(load_inventory(inventory), address)
    expected = table.get(provider)
    assert found.found_by == f"provider table: {expected.name}"
    assert {s.hostname for s in found.incoming + found.outgoing} == {s.host for s in expected.servers}
    assert any(expected.source in note for note in found.notes)


def test_app_passwords_oauth_and_the_username_form_are_said(inventory: Path) -> None:
    inv = load_inventory(inventory)
    assert "app password" in client_settings(inv, "a@gmail.com").login_hint
    assert "OAuth2" in client_settings(inv, "a@outlook.com").login_hint
    assert "Proton Mail Bridge" in client_settings(inv, "a@proton.me").login_hint
    icloud = client_settings(inv, "a@icloud.com")
    assert [s.username for s in icloud.incoming] == ["a"] and icloud.outgoing[0].username == "a@icloud.com"
    assert client_settings(inv, "a@web.de").username == "a"


def test_mx_hosts_name_their_provider() -> None:
    def mx(host: str) -> str | None:
        found = table.for_mx(host)
        return found.id if found else None

    assert mx("ASPMX.L.GOOGLE.COM.") == "gmail" and mx("alt1.aspmx.l.google.com") == "gmail"
    assert mx("smtp.google.com") == "gmail" and mx("aspmx2.googlemail.com") == "gmail"
    assert mx("contoso-com.mail.protection.outlook.com") == "microsoft365"  # not outlook.com's consumers
    assert mx("eur.olc.protection.outlook.com") == "outlook"
    assert mx("in1-smtp.messagingengine.com") == "fastmail"
    assert mx("mx01.mail.icloud.com") == "icloud"  # under one of its own domains
    assert mx("mx.example.net") is None


def test_relay_presets_take_their_server_from_the_table() -> None:
    for preset in relay_presets.PRESETS.values():
        if preset.provider is None:
            continue
        provider = table.get(preset.provider)
        server = provider.submission("ssl" if preset.tls == "implicit" else "starttls")
        assert server is not None and (preset.host, preset.port) == (server.host, server.port)
    assert {p.provider for p in relay_presets.PRESETS.values()} >= {"gmail", "outlook", "yahoo", "icloud", "fastmail"}


@pytest.mark.parametrize(("text", "problem"), [
    ("", "provider: no [[provider]] entries"),
    ("[[provider]]\nid = 'x'\n", "provider[0].servers: at least one server is needed"),
    ("[[provider]]\nid='x'\nname='X'\nauth=['password']\nsource='https://x'\nchecked=2026-01-01\n"
     "servers=[{protocol='imap', host='h', port=993, security='tls'}]\n",
     "provider[0].servers[0].security: 'tls' is not one of ssl, starttls"),
    ("[[provider]]\nid='x'\nname='X'\nauth=['password']\nchecked=2026-01-01\n"
     "servers=[{protocol='imap', host='h', port=993, security='ssl'}]\n", "provider[0].source: a URL is needed"),
    ("[[provider]]\nid='x'\nname='X'\nauth=['password']\nsource='https://x'\n"
     "servers=[{protocol='imap', host='h', port=993, security='ssl'}]\n", "provider[0].checked: a date"),
    ("[[provider", "providers.toml: "),
])
def test_a_broken_table_says_where(text: str, problem: str) -> None:
    with pytest.raises(table.TableError, match=r"providers\.toml: ") as caught:
        table.parse(text)
    assert problem in str(caught.value) and str(caught.value).endswith("(fix the table)")


def test_cli_known_provider(cli: Callable[..., Result]) -> None:
    result = cli("settings", "y@gmx.de", "--offline")
    assert result.exit_code == 0, result.output
    assert "imap.gmx.net" in result.output and "Found by:        provider table: GMX" in result.output
    assert "source: https://hilfe.gmx.net/" in result.output


def test_a_profile_needs_imap_and_smtp(cli: Callable[..., Result]) -> None:
    # Yahoo Japan-like answers (POP3 only) cannot become an Apple profile: a clear refusal, no traceback
    from provisioner.probe.client_settings import ClientSettings, Server, render

    pop_only = ClientSettings("a@pop.test", "a@pop.test", "pop.test", (Server("pop3", "pop.pop.test", 995, "SSL",
                                                                                "a@pop.test"),), ())
    with pytest.raises(ValueError, match="an Apple profile needs an IMAP and an SMTP server"):
        render(pop_only, "mobileconfig")
    assert cli("settings", "a@proton.me", "--offline", "--format", "mobileconfig").exit_code == 0
