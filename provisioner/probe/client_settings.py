"""Client settings: "what is my mail server?" for an address.

Plain data from the inventory model, rendered as text, JSON, a Thunderbird
autoconfig document or an Apple configuration profile. Documents are built
with ElementTree / plistlib (proper escaping, no string templates).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from provisioner.inventory.logins import NoLogin, hosting_domain, login_for, split
from provisioner.inventory.model import Inventory
from provisioner.inventory.ports import PUBLIC_PORTS, host_ports, probe_address
from provisioner.inventory.web import apple_profile_url
from provisioner.probe.apple_profile import as_mobileconfig
from provisioner.providers import table

if TYPE_CHECKING:
    from provisioner.probe.discover import Network

FORMATS = ("text", "json", "autoconfig", "mobileconfig")


class UnknownDomain(ValueError):
    """The address's domain is not served by the inventory (and no lookup was allowed)."""


class NotFound(Exception):
    """Discovery asked every source and none answered; ``looked_up`` says what was asked."""

    def __init__(self, message: str, looked_up: tuple[str, ...]) -> None:
        super().__init__(message)
        self.looked_up = looked_up


@dataclass(frozen=True)
class Server:
    protocol: str  # imap | pop3 | smtp
    hostname: str
    port: int
    security: str  # SSL | STARTTLS
    username: str


@dataclass(frozen=True)
class ClientSettings:
    address: str  # as asked
    username: str  # the mailbox that logs in (differs for aliases and alias domains)
    domain: str
    incoming: tuple[Server, ...]
    outgoing: tuple[Server, ...]
    login_hint: str = "your mailbox password (normal password authentication)"
    found_by: str = "this inventory (a domain it hosts)"
    notes: tuple[str, ...] = ()
    looked_up: tuple[str, ...] = ()  # every source asked during discovery, with its outcome


def client_settings(inventory: Inventory | None, address: str, network: Network | None = None) -> ClientSettings:
    """Settings for ``address``: a domain the inventory serves first, then a provider of the
    table (by mailbox domain), then discovery over ``network`` (see probe/discover.py; None:
    offline, no lookups). Without an inventory (None) only the table and discovery answer.

    The username is the mailbox that logs in for ``address`` (see
    ``provisioner.inventory.logins``): an address that is not a mailbox, or does not
    belong to exactly one, raises :class:`NoLogin`.

    Ports are the standard ones, unless the first host publishes others
    (``mailprov_ports``, e.g. the sandbox): then clients must use those, at
    the host's published address. In a fleet the servers are its fronts: the
    first proxy for IMAP and POP3, the first submission host for SMTP.
    """
    try:
        _, domain = split(address)
    except NoLogin as err:
        raise UnknownDomain(str(err)) from None
    if inventory is None or hosting_domain(inventory, domain) is None:
        provider = table.for_domain(domain)
        if provider is not None:
            return from_provider(address, provider, f"provider table: {provider.name}")
        return _discovered(inventory, address, domain, network)
    login = login_for(inventory, address)
    fronts = {"imap": _front(inventory, "proxy"), "pop3": _front(inventory, "proxy"),
              "smtp": _front(inventory, "submission")}
    ports = fronts["imap"][1]

    def server(protocol: str, service: str, security: str) -> Server:
        hostname, published = fronts[protocol]
        return Server(protocol, hostname, published[service], security, login.username)

    return ClientSettings(
        address=login.address,
        username=login.username,
        domain=login.domain.name,
        incoming=(server("imap", "imaps", "SSL"), server("pop3", "pop3s", "SSL")),
        outgoing=(server("smtp", "smtps", "SSL"), server("smtp", "submission", "STARTTLS")),
        notes=(f"Apple devices: open {apple_profile_url(login.domain.name)} to install these settings "
               "(no password in it; the device asks for the address, username and password)",
               *_webmail_note(inventory, ports["https"])),
    )


def _front(inventory: Inventory, function: str) -> tuple[str, dict[str, int]]:
    """The name and ports clients use for a service: the first host, with the group's
    mail_hostname; in a fleet the first host of `function` (the proxy for IMAP and POP3, the
    submission host for SMTP), by its own name. Published elsewhere (`mailprov_ports`, the
    sandbox): that host's published address and ports."""
    hosts = inventory.with_function(function) if inventory.is_fleet else inventory.hosts
    hostname, ports = inventory.settings.mail_hostname, dict(PUBLIC_PORTS)
    if hosts and inventory.is_fleet:
        hostname = inventory.hostname_for(hosts[0])
    if hosts and "mailprov_ports" in hosts[0].vars:
        hostname, ports = probe_address(hosts[0]), host_ports(hosts[0])
    return hostname, ports


def _webmail_note(inventory: Inventory, https_port: int) -> tuple[str, ...]:
    """Where the webmail is (mail_webmail), with the same address and password."""
    webmail = inventory.settings.webmail
    if not webmail.enabled:
        return ()
    port = "" if https_port == PUBLIC_PORTS["https"] else f":{https_port}"
    proxies = inventory.with_function("proxy") if inventory.is_fleet else ()
    default = inventory.hostname_for(proxies[0]) if proxies else inventory.settings.mail_hostname
    return (f"Webmail: https://{webmail.host or default}{port}/ "
            "(log in with the same address and password)",)


def from_provider(address: str, provider: table.Provider, found_by: str,
                  looked_up: tuple[str, ...] = ()) -> ClientSettings:
    """A mailbox at a provider of the table: its servers, username form and password kind."""
    address = address.lower()
    source = f"source: {provider.source} (checked {provider.checked:%Y-%m-%d})"
    notes = (provider.note, source) if provider.note else (source,)
    return _settings(address, provider.servers, f"{provider.password_hint()} ({provider.name})",
                     found_by=found_by, notes=notes, looked_up=looked_up)


def _settings(address: str, servers: tuple[table.Endpoint, ...], login_hint: str, *, found_by: str,
              notes: tuple[str, ...], looked_up: tuple[str, ...]) -> ClientSettings:
    local, _, domain = address.partition("@")

    def server(at: table.Endpoint) -> Server:
        username = local if at.username == "localpart" else address
        return Server(at.protocol, at.host, at.port, "SSL" if at.security == "ssl" else "STARTTLS", username)

    incoming = tuple(server(s) for s in servers if s.protocol in ("imap", "pop3"))
    outgoing = tuple(server(s) for s in servers if s.protocol == "smtp")
    usernames = {s.username for s in incoming + outgoing}
    username = address if address in usernames or not usernames else next(iter(sorted(usernames)))
    return ClientSettings(address, username, domain, incoming, outgoing, login_hint, found_by, notes, looked_up)


def _discovered(inventory: Inventory | None, address: str, domain: str, network: Network | None) -> ClientSettings:
    names = ", ".join(d.name for d in inventory.domains) if inventory and inventory.domains else "none"
    if network is None or network.offline:
        raise UnknownDomain(
            f"{domain} is not a mail domain of this inventory (domains: {names}) nor of a known provider; "
            f"without --offline mailprov looks it up (DNS SRV, autoconfig, MX, autodiscover); "
            f"to host it: `mailprov domain add {domain}`"
        )
    from provisioner.probe.discover import discover  # noqa: PLC0415  (dnspython: only lookups pay for it)

    found = discover(address.lower(), domain.lower(), network)
    looked_up = tuple(f"{a.method:<12} {a.asked}: {a.outcome}" for a in found.attempts)
    if found.label is None:
        raise NotFound(f"no mail settings found for {domain}: not a domain of this inventory (domains: {names}), "
                       "not a known provider, and no source answered", looked_up)
    if found.provider is not None:
        return from_provider(address, found.provider, found.label, looked_up)
    notes = ["the password: the one of this mailbox (the source does not say which kind)"]
    if not found.complete:
        notes.append("partial answer: the source names no " + (
            "outgoing" if all(s.protocol != "smtp" for s in found.servers) else "incoming") + " server")
    if not found.label.startswith("autoconfig"):
        notes.append("username: a guess (the full address); this source does not name one")
    return _settings(address.lower(), found.servers, "your mailbox password", found_by=found.label,
                     notes=tuple(notes), looked_up=looked_up)


def render(settings: ClientSettings, fmt: str) -> str:
    if fmt == "text":
        return as_text(settings)
    if fmt == "json":
        return json.dumps(asdict(settings), indent=2)
    if fmt == "autoconfig":
        return as_autoconfig(settings)
    if fmt == "mobileconfig":
        return as_mobileconfig(settings)
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")


_NAMES = {"imap": "IMAP", "pop3": "POP3", "smtp": "SMTP"}
_SECURITY = {"SSL": "SSL/TLS", "STARTTLS": "STARTTLS"}


def as_text(settings: ClientSettings) -> str:
    lines = [f"Mail settings for {settings.address}", ""]
    for title, servers in (("Incoming", settings.incoming), ("Outgoing", settings.outgoing)):
        lines.append(f"{title}:")
        for s in servers:
            lines.append(
                f"  {_NAMES[s.protocol]:<5} server {s.hostname}  port {s.port:<5} "
                f"security {_SECURITY[s.security]}"
            )
    owner = "the full address"
    if settings.username == settings.address.partition("@")[0]:
        owner = "the part before @"
    elif settings.username != settings.address:
        owner = f"the mailbox {settings.address} belongs to"
    lines += [
        "",
        f"Username:        {settings.username} ({owner})",
        f"Password:        {settings.login_hint}",
        f"Found by:        {settings.found_by}",
    ]
    lines += [f"Note:            {note}" for note in settings.notes]
    if settings.looked_up:
        lines += ["", "Looked up:"] + [f"  {line}" for line in settings.looked_up]
    return "\n".join(lines)


def as_autoconfig(settings: ClientSettings) -> str:
    """Thunderbird autoconfig (clientConfig 1.1) for this one account, with its
    literal username (the format of ``https://autoconfig.DOMAIN/mail/config-v1.1.xml``)."""
    root = ET.Element("clientConfig", version="1.1")
    provider = ET.SubElement(root, "emailProvider", id=settings.domain)
    ET.SubElement(provider, "domain").text = settings.domain
    ET.SubElement(provider, "displayName").text = f"Mail for {settings.domain}"
    ET.SubElement(provider, "displayShortName").text = settings.domain
    for tag, servers in (
        ("incomingServer", settings.incoming),
        ("outgoingServer", settings.outgoing),
    ):
        for s in servers:
            el = ET.SubElement(provider, tag, type=s.protocol)
            ET.SubElement(el, "hostname").text = s.hostname
            ET.SubElement(el, "port").text = str(s.port)
            ET.SubElement(el, "socketType").text = s.security
            # Literal: for an alias the login differs from the address (no %EMAILADDRESS%).
            ET.SubElement(el, "username").text = s.username
            ET.SubElement(el, "authentication").text = "password-cleartext"
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
