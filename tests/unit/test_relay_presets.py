"""The provider table, and the relay / DMARC settings it feeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.inventory.store import load_inventory
from provisioner.problems import InventoryInvalid
from provisioner.providers import relay_presets

MAIN = "group_vars/mailservers/main.yml"


def settings_with(inventory: Path, extra: str):  # type: ignore[no-untyped-def]
    (inventory / MAIN).write_text("mail_hostname: mail.example.org\n" + extra, encoding="utf-8")
    return load_inventory(inventory).settings


def problems_with(inventory: Path, extra: str) -> list[str]:
    with pytest.raises(InventoryInvalid) as caught:
        settings_with(inventory, extra)
    return [str(p) for p in caught.value.problems]


def test_every_required_provider_has_a_preset() -> None:
    wanted = {"gmail", "google-workspace", "outlook", "microsoft365", "yahoo", "icloud", "zoho", "fastmail",
              "turbosmtp", "ses", "mailgun", "mailgun-eu", "sendgrid", "brevo", "postmark", "mailjet"}
    assert wanted <= set(relay_presets.PRESETS)
    for preset in relay_presets.PRESETS.values():
        assert preset.tls in relay_presets.TLS_MODES
        assert (preset.port == 465) == (preset.tls == "implicit")
        assert "." in preset.spf_include and not preset.spf_include.startswith("include:")


def test_ses_host_is_a_function_of_the_region() -> None:
    ses = relay_presets.PRESETS["ses"]
    assert ses.smtp_host("eu-west-1") == "email-smtp.eu-west-1.amazonaws.com"
    assert ses.smtp_host() == "email-smtp.us-east-1.amazonaws.com"
    assert relay_presets.for_host("email-smtp.eu-central-1.amazonaws.com") is ses
    assert relay_presets.PRESETS["gmail"].smtp_host("eu-west-1") == "smtp.gmail.com"


@pytest.mark.parametrize(("provider", "host", "include"), [
    ("gmail", "smtp.gmail.com", "include:_spf.google.com"),
    (None, "smtp.office365.com", "include:spf.protection.outlook.com"),
    (None, "email-smtp.us-west-2.amazonaws.com", "include:amazonses.com"),
    ("zoho-eu", "smtp.zoho.eu", "include:zoho.eu"),
    (None, "smtp.fastmail.com", "include:spf.messagingengine.com"),
    (None, "smtp.example.net", None),
])
def test_spf_include_by_provider_or_host(provider: str | None, host: str, include: str | None) -> None:
    assert relay_presets.spf_include(provider, host) == include


def test_client_settings_for_mailbox_providers() -> None:
    found = relay_presets.client_settings_for("GMAIL.com")
    assert found is not None
    preset, client = found
    assert preset.name == "gmail" and client.imap.host == "imap.gmail.com" and client.imap.port == 993
    icloud = relay_presets.client_settings_for("me.com")
    assert icloud is not None and icloud[1].pop3 is None
    assert relay_presets.client_settings_for("example.org") is None


def test_relay_model_defaults_and_extensions(inventory: Path) -> None:
    plain = settings_with(inventory, "mail_relay: {host: smtp.example.net, username: u, "
                                     "password: '{{ vault_mail_relay_password }}'}\n").relay
    assert plain is not None and (plain.port, plain.tls, plain.sender_domains) == (587, "starttls", ())
    full = settings_with(inventory, "mail_relay:\n  provider: fastmail\n  host: smtp.fastmail.com\n  tls: implicit\n"
                                    "  username: u\n  password: '{{ vault_mail_relay_password }}'\n"
                                    "  sender_domains: [example.org]\n").relay
    assert full is not None
    assert (full.provider, full.port, full.tls, full.sender_domains) == ("fastmail", 465, "implicit", ("example.org",))


@pytest.mark.parametrize(("relay", "expected"), [
    ("{host: h.example.net, tls: ssl}", "mail_relay.tls: 'ssl' is not a relay TLS mode"),
    ("{host: h.example.net, port: 465, tls: starttls}", "port 465 speaks TLS from the first byte"),
    ("{host: h.example.net, provider: gmial}", "did you mean 'gmail'?"),
    ("{host: h.example.net, sender_domains: [Example.ORG]}", "mail_relay.sender_domains[0]"),
    ("{host: h.example.net, username: u, password: hunter2}", "mail_relay.password: a plaintext password"),
])
def test_relay_problems(inventory: Path, relay: str, expected: str) -> None:
    found = problems_with(inventory, f"mail_relay: {relay}\n")
    assert any(expected in p for p in found), found


def test_dmarc_setting(inventory: Path) -> None:
    assert settings_with(inventory, "").dmarc.policy == "quarantine"
    dmarc = settings_with(inventory, "mail_dmarc: {policy: reject, rua: [dmarc@example.org]}\n").dmarc
    assert (dmarc.policy, dmarc.rua) == ("reject", ("dmarc@example.org",))
    assert any("'strict' is not a DMARC policy" in p for p in problems_with(inventory, "mail_dmarc: {policy: strict}\n"))
    assert any("mail_dmarc.rua" in p for p in problems_with(inventory, "mail_dmarc: {rua: not-an-address}\n"))
