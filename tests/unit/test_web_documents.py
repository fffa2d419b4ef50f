"""The documents the web role serves are the CLI's, made from the same inventory: the
Thunderbird autoconfig of `mailprov settings --format autoconfig` (with Thunderbird's
%EMAILADDRESS% placeholder: one static file serves every address of a domain), the Apple
profile of provisioner/probe/apple_profile.py (without address or password), the MTA-STS
policy whose hash `mailprov dns` publishes, and the certificate names of the acme role.
Rendered here with StrictUndefined, so the templates and the Python code cannot drift apart."""

from __future__ import annotations

import plistlib
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from ansible.plugins.filter.core import regex_replace, to_uuid

from provisioner.inventory import web
from provisioner.inventory.model import Inventory
from provisioner.inventory.ports import PUBLIC_PORTS
from provisioner.inventory.store import load_inventory
from provisioner.inventory.web import APPLE_PROFILE_PATH, apple_profile_url
from provisioner.probe.apple_profile import domain_profile
from provisioner.probe.client_settings import client_settings, render

ROLES = Path(__file__).resolve().parents[2] / "roles"
MAIN = "group_vars/mailservers/main.yml"


def _comment(text: str, style: str = "plain") -> str:
    return f"<!-- {text} -->" if style == "xml" else f"# {text}"


def _env() -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True)
    env.filters["comment"] = _comment
    env.filters["regex_replace"] = regex_replace
    env.filters["to_uuid"] = to_uuid
    return env


def _template(name: str, **variables: Any) -> str:
    source = (ROLES / "web" / "templates" / name).read_text(encoding="utf-8")
    return _env().from_string(source).render(ansible_managed="managed by mailprov", **variables)


def _defaults(role: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text(encoding="utf-8"))
    return loaded


def _canonical(xml: str) -> str:
    return ET.canonicalize(xml, strip_text=True, with_comments=False)


@pytest.fixture
def loaded(inventory: Path) -> Inventory:
    return load_inventory(inventory)


def test_client_ports_are_the_public_ones() -> None:
    ports = _defaults("web")["web_client_ports"]
    assert ports == {name: PUBLIC_PORTS[name] for name in ("imaps", "pop3s", "smtps", "submission")}


def test_autoconfig_is_what_mailprov_settings_renders(loaded: Inventory) -> None:
    domain = loaded.domains[0]
    mailbox = domain.mailboxes[0].address
    served = _template("config-v1.1.xml.j2", web_domain=domain.name, web_hostname=loaded.settings.mail_hostname,
                       web_client_ports=_defaults("web")["web_client_ports"])
    assert served.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    cli = render(client_settings(loaded, mailbox), "autoconfig")
    assert f"<username>{mailbox}</username>" in cli
    assert _canonical(served) == _canonical(cli.replace(f"<username>{mailbox}</username>",
                                                        "<username>%EMAILADDRESS%</username>"))


def _role_vars(role: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROLES / role / "vars" / "main.yml").read_text(encoding="utf-8"))
    return loaded


def test_apple_profile_is_the_one_of_mailprov_settings_without_address_or_password(loaded: Inventory) -> None:
    domain = loaded.domains[0].name
    served = _template("mail.mobileconfig.j2", web_domain=domain, web_hostname=loaded.settings.mail_hostname,
                       web_client_ports=_defaults("web")["web_client_ports"],
                       web_profile_uuid_namespace=_role_vars("web")["web_profile_uuid_namespace"])
    profile = plistlib.loads(served.encode("utf-8"))
    assert profile == plistlib.loads(domain_profile(loaded, domain).encode("utf-8"))
    [account] = profile["PayloadContent"]
    assert (account["IncomingMailServerHostName"], account["IncomingMailServerPortNumber"]) == (
        loaded.settings.mail_hostname, 993)
    assert not {key for key in account if "Password" in key and key != "OutgoingPasswordSameAsIncomingPassword"}
    assert not {"EmailAddress", "IncomingMailServerUsername", "OutgoingMailServerUsername"} & set(account)
    # Another domain, another profile: installing both keeps two accounts.
    other = plistlib.loads(domain_profile(loaded, "other.example").encode("utf-8"))
    assert other["PayloadUUID"] != profile["PayloadUUID"]


def test_apple_profile_is_served_where_mailprov_settings_says(loaded: Inventory) -> None:
    site = (ROLES / "web" / "templates" / "mailprov.conf.j2").read_text(encoding="utf-8")
    location = re.search(r"location = (\S+\.mobileconfig) \{(.*?)\n    \}\n", site, re.DOTALL)
    assert location is not None and location.group(1) == APPLE_PROFILE_PATH
    assert "default_type application/x-apple-aspen-config;" in location.group(2)
    assert "types { }" in location.group(2)  # Debian's mime.types cannot override the type
    found = client_settings(loaded, loaded.domains[0].mailboxes[0].address)
    assert any(apple_profile_url(found.domain) in note for note in found.notes)


@pytest.mark.parametrize("policy", ["", "mail_mta_sts: {mode: enforce, max_age: 1209600}\n", "mail_mta_sts: {mode: none}\n"])
def test_mta_sts_policy_is_the_one_mailprov_dns_hashes(inventory: Path, policy: str) -> None:
    main = inventory / MAIN
    main.write_text(main.read_text() + policy)
    loaded = load_inventory(inventory)
    setting = loaded.settings.mta_sts
    served = _template("mta-sts.txt.j2", web_mta_sts={"mode": setting.mode, "max_age": setting.max_age},
                       web_mta_sts_mx=list(loaded.mx_names()))
    assert served == web.mta_sts_policy(loaded)


def test_certificate_names_are_the_ones_the_acme_role_requests(inventory: Path) -> None:
    main = inventory / MAIN
    main.write_text(main.read_text().replace(
        "mail_tls:\n  mode: selfsigned\n",
        "mail_tls: {mode: acme, email: postmaster@example.org, extra_names: [webmail.example.org]}\n"))
    accounts = inventory / "group_vars/mailservers/accounts.yml"
    accounts.write_text(accounts.read_text() + "  - name: second.example\n")
    loaded = load_inventory(inventory)
    expression = yaml.safe_load((ROLES / "acme" / "vars" / "main.yml").read_text(encoding="utf-8"))["acme_names"]
    tls = {"mode": "acme", "extra_names": list(loaded.settings.tls.extra_names)}
    rendered = _env().from_string(expression).render(
        mail_hostname=loaded.settings.mail_hostname, mail_domains=[{"name": d.name} for d in loaded.domains],
        acme_tls=tls,
    )
    assert yaml.safe_load(rendered) == list(loaded.certificate_names())
    assert "autoconfig.second.example" in rendered
