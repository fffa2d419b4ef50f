"""Apple configuration profiles (.mobileconfig) with one IMAP account and never a password.

Two kinds from one builder: for an address (`mailprov settings ADDRESS --format
mobileconfig`: address and usernames filled in) and for a hosted domain (what roles/web
serves at `https://autoconfig.DOMAIN/mail.mobileconfig`: one static file for every
address, so it names none and the device asks for the address, the username and the
password; roles/web/templates/mail.mobileconfig.j2 renders the same plist, pinned by
tests/unit/test_web_documents.py).
"""

from __future__ import annotations

import plistlib
import uuid
from typing import TYPE_CHECKING, Any

from provisioner.inventory.ports import PUBLIC_PORTS

if TYPE_CHECKING:
    from provisioner.inventory.model import Inventory
    from provisioner.probe.client_settings import ClientSettings

# Namespace of the payload UUIDs: the same address (or domain) always yields the same
# profile, so installing it again replaces the account instead of adding a second one.
# roles/web/vars/main.yml (web_profile_uuid_namespace) carries the same value.
UUID_NAMESPACE = uuid.UUID("0d5c3a3e-6f0e-4c1b-9a53-6d61696c7072")


def as_mobileconfig(settings: ClientSettings) -> str:
    """The profile of one address: its IMAP server and its SSL/TLS SMTP server (else the first)."""
    imap = next((s for s in settings.incoming if s.protocol == "imap"), None)
    if imap is None or not settings.outgoing:
        raise ValueError(
            f"{settings.domain}: an Apple profile needs an IMAP and an SMTP server, and this answer "
            "lacks one (use --format text)"
        )
    smtp = next((s for s in settings.outgoing if s.security == "SSL"), settings.outgoing[0])
    login = {
        "EmailAccountName": settings.address,
        "EmailAddress": settings.address,
        "IncomingMailServerUsername": imap.username,
        "OutgoingMailServerUsername": smtp.username,
    }
    return _profile(settings.domain, settings.address, (imap.hostname, imap.port), (smtp.hostname, smtp.port), login)


def domain_profile(inventory: Inventory, domain: str) -> str:
    """The profile the web face serves for a hosted domain: `mail_hostname`, IMAP 993 and
    SMTP 465 (the ports clients are told, as in the served autoconfig), no address or username."""
    hostname = inventory.settings.mail_hostname.lower()
    return _profile(domain.lower(), None, (hostname, PUBLIC_PORTS["imaps"]), (hostname, PUBLIC_PORTS["smtps"]), {})


def _profile(
    domain: str, address: str | None, imap: tuple[str, int], smtp: tuple[str, int], login: dict[str, str]
) -> str:
    who = address or domain  # an address has an @, a domain none: their UUIDs never meet
    account_uuid = str(uuid.uuid5(UUID_NAMESPACE, "account:" + who)).upper()
    profile_uuid = str(uuid.uuid5(UUID_NAMESPACE, "profile:" + who)).upper()
    reverse = ".".join(reversed(domain.split(".")))
    account: dict[str, Any] = {
        "EmailAccountDescription": address or f"Mail at {domain}",
        "EmailAccountType": "EmailTypeIMAP",
        "IncomingMailServerAuthentication": "EmailAuthPassword",
        "IncomingMailServerHostName": imap[0],
        "IncomingMailServerPortNumber": imap[1],
        "IncomingMailServerUseSSL": True,
        "OutgoingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingMailServerHostName": smtp[0],
        "OutgoingMailServerPortNumber": smtp[1],
        "OutgoingMailServerUseSSL": True,
        "OutgoingPasswordSameAsIncomingPassword": True,
        "PayloadDescription": f"Mail account {address or 'at ' + domain}",
        "PayloadDisplayName": address or f"Mail at {domain}",
        "PayloadIdentifier": f"{reverse}.mailprov.account.{account_uuid}",
        "PayloadType": "com.apple.mail.managed",
        "PayloadUUID": account_uuid,
        "PayloadVersion": 1,
        **login,
    }
    profile = {
        "PayloadContent": [account],
        "PayloadDisplayName": f"Mail ({who})",
        "PayloadIdentifier": f"{reverse}.mailprov.{profile_uuid}",
        "PayloadRemovalDisallowed": False,
        "PayloadType": "Configuration",
        "PayloadUUID": profile_uuid,
        "PayloadVersion": 1,
    }
    return plistlib.dumps(profile, sort_keys=True).decode("utf-8")
