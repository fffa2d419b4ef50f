"""A scripted SMTP server on 127.0.0.1 for probe tests: plain or implicit TLS, records commands."""

from __future__ import annotations

import datetime as dt
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOSTNAME = "mail.example.org"


def self_signed_context(folder: Path, name: str = HOSTNAME) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for ``name`` (new key each call)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return server_context(folder, key, cert)


def server_context(folder: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> ssl.SSLContext:
    """A server context for ``key`` and ``cert`` (ssl loads a chain only from a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    pem = folder / f"{cert.subject.rfc4514_string()}-{cert.serial_number}.pem"
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pem)
    return ctx


@dataclass
class Script:
    """What the server answers; ``contexts[i]`` wraps connection i (the last one repeats)."""

    mail_from: str = "250 2.1.0 Ok"
    rcpt_to: str = "554 5.7.1 Relay access denied"
    data_end: str = "250 2.0.0 queued"
    contexts: list[ssl.SSLContext] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    connections: int = 0


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def setup(self) -> None:
        script = self.server.script
        if script.contexts:
            ctx = script.contexts[min(script.connections, len(script.contexts) - 1)]
            self.request = ctx.wrap_socket(self.request, server_side=True)
        script.connections += 1
        super().setup()

    def say(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        script = self.server.script
        self.say(f"220 {HOSTNAME} ESMTP")
        in_data = False
        for raw in self.rfile:
            line = raw.decode().rstrip("\r\n")
            if in_data:
                if line == ".":
                    in_data = False
                    self.say(script.data_end)
                continue
            verb, _, rest = line.partition(" ")
            verb = verb.upper()
            script.commands.append(f"{verb} {rest}".rstrip())  # smtplib sends lower-case verbs
            if verb == "EHLO":
                self.say(f"250-{HOSTNAME}\r\n250-AUTH PLAIN\r\n250 8BITMIME")
            elif verb == "AUTH":
                self.say("235 2.7.0 Authentication successful")
            elif verb == "MAIL":
                self.say(script.mail_from)
            elif verb == "RCPT":
                self.say(script.rcpt_to)
            elif verb == "DATA":
                in_data = True
                self.say("354 go ahead")
            elif verb == "QUIT":
                self.say("221 bye")
                return
            else:
                self.say("250 Ok")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, script: Script) -> None:
        self.script = script
        super().__init__(("127.0.0.1", 0), _Handler)


@contextmanager
def serve(script: Script) -> Iterator[int]:
    """Run the server while the block runs; yields its port."""
    server = _Server(script)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port: int = server.server_address[1]
        yield port
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: connecting is refused
