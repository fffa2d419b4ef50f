"""`mailprov check`: the web face (roles/web) from outside: HTTPS on 443 with the certificate
the mail ports serve, the MTA-STS policy `mailprov dns` publishes the id of, and the Thunderbird
autoconfig document and the Apple profile naming this server and its ports. Requests go to the host's probe address
and published https port; the name asked for travels in SNI and Host, as a browser's would."""

from __future__ import annotations

import plistlib
import socket
import xml.etree.ElementTree as ET

from provisioner.inventory.model import Inventory
from provisioner.inventory.ports import PUBLIC_PORTS
from provisioner.inventory.web import APPLE_PROFILE_PATH, mta_sts_id, mta_sts_policy
from provisioner.probe.session import TIMEOUT, ProbeFailed, Target, tls_info, tls_verdict

_MAX_BODY = 1024 * 1024


def https_get(target: Target, name: str, path: str) -> tuple[int, str, bytes]:
    """GET https://NAME/PATH at the target's address: status, content type, body."""
    status, headers, body = https_exchange(target, name, path)
    return status, dict(headers).get("content-type", ""), body


def https_exchange(
    target: Target, name: str, path: str, *, method: str = "GET", headers: tuple[tuple[str, str], ...] = (),
    body: bytes = b"",
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request to https://NAME/PATH at the target's address: status, headers (lower-case
    names, in order: Set-Cookie may repeat), body. With a verified chain (acme, files) the
    certificate must cover NAME too; a self-signed one names the mail host only, and nobody
    trusts it anyway."""
    raw = socket.create_connection((target.address, target.ports["https"]), timeout=TIMEOUT)
    with target.context.wrap_socket(raw, server_hostname=name) as tls:
        if target.verify_tls:
            tls_info(Target(target.host, target.address, name, target.ports, True, target.ca_file), tls)
        extra = "".join(f"{key}: {value}\r\n" for key, value in headers)
        length = f"Content-Length: {len(body)}\r\n" if method != "GET" else ""
        request = (f"{method} {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n"
                   f"User-Agent: mailprov-check\r\n{extra}{length}\r\n")
        tls.sendall(request.encode("ascii") + body)
        data = b""
        while len(data) < _MAX_BODY and (chunk := tls.recv(65536)):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise ProbeFailed(f"https://{name}{path}: not an HTTP answer") from None
    fields = [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    if dict(fields).get("transfer-encoding", "").lower() == "chunked":
        payload = _unchunk(payload)
    return status, fields, payload


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def https_banner(target: Target) -> str:
    """443 answers with TLS 1.2+ and a certificate for the mail host name, not expiring."""
    raw = socket.create_connection((target.address, target.ports["https"]), timeout=TIMEOUT)
    with target.context.wrap_socket(raw, server_hostname=target.hostname) as tls:
        return tls_verdict(target, tls, "https")


def mta_sts(target: Target, inventory: Inventory) -> str:
    """Every hosted domain's policy is the one `mailprov dns` publishes the id of."""
    expected = mta_sts_policy(inventory)
    for domain in inventory.domains:
        name = f"mta-sts.{domain.name}"
        status, content_type, body = https_get(target, name, "/.well-known/mta-sts.txt")
        if status != 200:
            raise ProbeFailed(f"https://{name}/.well-known/mta-sts.txt answered {status}")
        if not content_type.lower().startswith("text/plain"):
            raise ProbeFailed(f"https://{name}/.well-known/mta-sts.txt is {content_type or 'untyped'}, not text/plain")
        served = body.decode("utf-8", "replace")
        if served != expected:
            raise ProbeFailed(f"{name} serves policy id {mta_sts_id(served)}, `mailprov dns` publishes "
                              f"{mta_sts_id(expected)}: deploy again")
    policy = inventory.settings.mta_sts
    untrusted = "" if target.verify_tls else " (self-signed: senders will not trust it)"
    return (f"{len(inventory.domains)} domain(s), mode {policy.mode}, id {mta_sts_id(expected)}{untrusted}"
            if inventory.domains else "no domains")


def autoconfig(target: Target, inventory: Inventory) -> str:
    """autoconfig.DOMAIN names this server and the standard TLS ports (what clients will use)."""
    hostname = target.hostname.lower()
    want = {("imap", hostname, PUBLIC_PORTS["imaps"], "SSL"), ("pop3", hostname, PUBLIC_PORTS["pop3s"], "SSL"),
            ("smtp", hostname, PUBLIC_PORTS["smtps"], "SSL"),
            ("smtp", hostname, PUBLIC_PORTS["submission"], "STARTTLS")}
    for domain in inventory.domains:
        name = f"autoconfig.{domain.name}"
        status, _, body = https_get(target, name, "/mail/config-v1.1.xml")
        if status != 200:
            raise ProbeFailed(f"https://{name}/mail/config-v1.1.xml answered {status}")
        try:
            # Our own server, body capped at 1 MiB; expat (>= 2.4.1) limits entity amplification.
            provider = ET.fromstring(body).find("emailProvider")  # noqa: S314
        except ET.ParseError as exc:
            raise ProbeFailed(f"https://{name}/mail/config-v1.1.xml is not XML: {exc}") from None
        if provider is None or provider.get("id") != domain.name:
            raise ProbeFailed(f"https://{name}/mail/config-v1.1.xml is not the document for {domain.name}")
        found = {(el.get("type", ""), (el.findtext("hostname") or "").lower(), int(el.findtext("port") or 0),
                  el.findtext("socketType") or "")
                 for el in provider if el.tag in ("incomingServer", "outgoingServer")}
        if found != want:
            raise ProbeFailed(f"{name} names {sorted(found)}, expected {sorted(want)}")
        apple_profile(target, name, hostname)
    return f"{len(inventory.domains)} domain(s): {hostname} imaps/pop3s/smtps/submission, Apple profile"


def apple_profile(target: Target, name: str, hostname: str) -> None:
    """https://autoconfig.DOMAIN/mail.mobileconfig: a profile Safari installs (its content type),
    naming this server with IMAP 993 and SMTP 465, and no password."""
    url = f"https://{name}{APPLE_PROFILE_PATH}"
    status, content_type, body = https_get(target, name, APPLE_PROFILE_PATH)
    if status != 200:
        raise ProbeFailed(f"{url} answered {status}")
    if content_type.split(";")[0].strip().lower() != "application/x-apple-aspen-config":
        raise ProbeFailed(f"{url} is {content_type or 'untyped'}, not application/x-apple-aspen-config")
    try:
        [account] = plistlib.loads(body)["PayloadContent"]
    except (plistlib.InvalidFileException, ValueError, KeyError, TypeError) as exc:
        raise ProbeFailed(f"{url} is not a profile with one account: {exc}") from None
    found = {(str(account.get(f"{way}MailServerHostName", "")).lower(), account.get(f"{way}MailServerPortNumber"))
             for way in ("Incoming", "Outgoing")}
    if found != {(hostname, PUBLIC_PORTS["imaps"]), (hostname, PUBLIC_PORTS["smtps"])}:
        raise ProbeFailed(f"{url} names {sorted(found, key=str)}, expected {hostname} ports 993 and 465")
    if {"IncomingPassword", "OutgoingPassword"} & set(account):
        raise ProbeFailed(f"{url} carries a password: deploy again")
