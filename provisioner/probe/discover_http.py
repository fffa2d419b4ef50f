"""Client settings over HTTPS: Thunderbird autoconfig documents and Outlook autodiscover.

Only https, no redirects, small bodies, short timeouts. XML with a DTD (and so any entity
declaration) is refused before it is parsed.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from xml.parsers import expat

import dns.resolver

from provisioner.probe.discover_dns import LookupFailed, address_of
from provisioner.providers.table import Endpoint, Protocol, Security, UsernameForm

MAX_BODY = 256 * 1024
_AUTOCONFIG_TYPES: dict[str, Protocol] = {"imap": "imap", "pop3": "pop3", "smtp": "smtp"}
_SOCKET_TYPES: dict[str, Security] = {"SSL": "ssl", "STARTTLS": "starttls"}
AUTODISCOVER_REQUEST = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">'
    "<Request><EMailAddress>{address}</EMailAddress>"
    "<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
    "</AcceptableResponseSchema></Request></Autodiscover>"
)


@dataclass(frozen=True)
class Https:
    """How to reach web servers: a TLS context (system CAs unless given), the resolver that
    finds their addresses (the system's unless given: `--nameserver` sends every lookup to
    one server) and, for tests, host names mapped to the (address, port) to use instead."""

    context: ssl.SSLContext = field(default_factory=ssl.create_default_context)
    resolver: dns.resolver.Resolver | None = None
    connect_to: dict[str, tuple[str, int]] = field(default_factory=dict)

    def request(self, url: str, timeout: float, body: bytes | None = None) -> bytes:
        """GET (or POST ``body``) ``url``; the body of a 200 answer, else LookupFailed."""
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise LookupFailed(f"{url}: only https URLs are fetched")
        address, port = self.connect_to.get(parts.hostname, (parts.hostname, parts.port or 443))
        if parts.hostname not in self.connect_to and self.resolver is not None:
            address = address_of(self.resolver, parts.hostname, timeout)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn = _Connection(parts.hostname, address, port, self.context, timeout)
        try:
            headers = {"User-Agent": "mailprov", "Accept": "text/xml, application/xml"}
            if body is not None:
                headers["Content-Type"] = "text/xml; charset=utf-8"
            conn.request("POST" if body is not None else "GET", path or "/", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read(MAX_BODY + 1)
        except (OSError, http.client.HTTPException) as err:
            raise LookupFailed(f"{url}: {_reason(err)}") from None
        finally:
            conn.close()
        if response.status != 200:
            raise LookupFailed(f"{url}: HTTP {response.status}")
        if len(data) > MAX_BODY:
            raise LookupFailed(f"{url}: answer larger than {MAX_BODY} bytes")
        return data


class _Connection(http.client.HTTPSConnection):
    """HTTPS to ``address``:``port`` with SNI and certificate checks for ``hostname``."""

    def __init__(self, hostname: str, address: str, port: int, context: ssl.SSLContext, timeout: float) -> None:
        super().__init__(hostname, port, timeout=timeout, context=context)
        self._address, self._tls = address, context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def _reason(err: BaseException) -> str:
    if isinstance(err, TimeoutError | socket.timeout):
        return "no answer in time"
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"certificate not trusted ({err.verify_message})"
    return str(err) or type(err).__name__


def parse_xml(data: bytes, where: str) -> ET.Element:
    """Parse without a DTD: a document that declares one (entities) is refused."""

    def refuse(*_: object) -> None:
        raise LookupFailed(f"{where}: XML with a DTD or entities is refused")

    checker = expat.ParserCreate()
    checker.StartDoctypeDeclHandler = refuse
    checker.EntityDeclHandler = refuse
    try:
        checker.Parse(data, True)
        return ET.fromstring(data)  # noqa: S314 (no DTD, so no entities: checked just above)
    except (expat.ExpatError, ET.ParseError) as err:
        raise LookupFailed(f"{where}: not XML ({err})") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def autoconfig_servers(root: ET.Element, where: str) -> tuple[Endpoint, ...]:
    """Servers of a clientConfig 1.1 document (the first emailProvider), in its order."""
    provider = root.find("emailProvider")
    if root.tag != "clientConfig" or provider is None:
        raise LookupFailed(f"{where}: not a clientConfig document")
    found = []
    for el in list(provider):
        if el.tag not in ("incomingServer", "outgoingServer"):
            continue
        protocol = _AUTOCONFIG_TYPES.get(el.get("type", ""))
        security = _SOCKET_TYPES.get((el.findtext("socketType") or "").strip())
        host = (el.findtext("hostname") or "").strip().lower()
        port = (el.findtext("port") or "").strip()
        if protocol is None or security is None or not host or not port.isdigit():
            continue  # plain text, other protocols (exchange...) or incomplete: not offered
        local = (el.findtext("username") or "").strip() == "%EMAILLOCALPART%"
        username: UsernameForm = "localpart" if local else "address"
        found.append(Endpoint(protocol, host, int(port), security, username))
    return tuple(found)


def autodiscover_servers(root: ET.Element, where: str) -> tuple[Endpoint, ...]:
    """IMAP, POP3 and SMTP of an Outlook autodiscover (responseschema 2006a) answer."""
    if _local(root.tag) != "Autodiscover":
        raise LookupFailed(f"{where}: not an autodiscover answer")
    found = []
    for proto in (el for el in root.iter() if _local(el.tag) == "Protocol"):
        fields = {_local(child.tag): (child.text or "").strip() for child in proto}
        protocol = {"IMAP": "imap", "POP3": "pop3", "SMTP": "smtp"}.get(fields.get("Type", "").upper())
        host, port = fields.get("Server", "").lower(), fields.get("Port", "")
        if protocol is None or not host or not port.isdigit():
            continue
        security = _autodiscover_security(fields, int(port))
        if security is not None:
            found.append(Endpoint(protocol, host, int(port), security))  # type: ignore[arg-type]
    return tuple(found)


def _autodiscover_security(fields: dict[str, str], port: int) -> Security | None:
    encryption = fields.get("Encryption", "").lower()
    if encryption == "ssl":
        return "ssl"
    if encryption == "tls":
        return "starttls"
    if encryption or fields.get("SSL", "on").lower() == "off":
        return None  # none / auto / plain text: not offered to a client
    return "ssl" if port in (465, 993, 995) else "starttls"
