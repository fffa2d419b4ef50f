"""What a TLS connection tells a client: protocol, certificate names, expiry."""

from __future__ import annotations

import datetime as dt
import hashlib
import ssl
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

# Below TLS 1.2 is a failure: both releases' OpenSSL can be talked into it.
GOOD_PROTOCOLS = ("TLSv1.2", "TLSv1.3")
# Days before expiry: a warning (renewal should have happened: ACME renews 30 days ahead),
# then a failure.
EXPIRY_WARN_DAYS = 14
EXPIRY_FAIL_DAYS = 3


@dataclass(frozen=True)
class TlsInfo:
    protocol: str
    names: tuple[str, ...]
    not_after: dt.datetime
    self_signed: bool
    sha256: str  # fingerprint of the DER certificate, hex

    def matches(self, hostname: str) -> bool:
        return any(_name_matches(pattern, hostname) for pattern in self.names)

    @property
    def days_left(self) -> int:
        return (self.not_after - dt.datetime.now(dt.UTC)).days

    def problems(self, hostname: str) -> list[str]:
        found = []
        if self.protocol not in GOOD_PROTOCOLS:
            found.append(f"protocol {self.protocol} (want TLS 1.2 or newer)")
        if not self.matches(hostname):
            found.append(
                f"certificate names {', '.join(self.names) or 'none'} do not cover {hostname}"
            )
        if self.days_left < 0:
            found.append(f"certificate expired {self.not_after:%Y-%m-%d}")
        elif self.days_left < EXPIRY_FAIL_DAYS:
            found.append(f"certificate expires {self.not_after:%Y-%m-%d}, in {self.days_left} days: "
                         "renewal is failing (see certbot's log on the server)")
        return found

    def describe(self) -> str:
        kind = "self-signed" if self.self_signed else "CA-signed"
        names = ",".join(self.names)
        text = f"{self.protocol} {kind} {names} until {self.not_after:%Y-%m-%d}"
        if self.days_left < EXPIRY_WARN_DAYS:
            text += f" (WARNING: expires in {self.days_left} days; is renewal working?)"
        return text


def client_context(verify: bool, cafile: str | None = None) -> ssl.SSLContext:
    """A client context; ``verify=False`` for self-signed servers (we check the
    name and expiry ourselves, see :meth:`TlsInfo.problems`). ``cafile`` is trusted
    besides the system's roots."""
    ctx = ssl.create_default_context()
    if verify and cafile:
        ctx.load_verify_locations(cafile=cafile)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def inspect(sock: ssl.SSLSocket) -> TlsInfo:
    der = sock.getpeercert(binary_form=True)
    if der is None:
        raise ssl.SSLError("server sent no certificate")
    cert = x509.load_der_x509_certificate(der)
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = [str(n) for n in san.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        pass
    if not names:
        names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return TlsInfo(
        protocol=sock.version() or "unknown",
        names=tuple(names),
        not_after=cert.not_valid_after_utc,
        self_signed=cert.issuer == cert.subject,
        sha256=hashlib.sha256(der).hexdigest(),
    )


def _name_matches(pattern: str, hostname: str) -> bool:
    pattern, hostname = pattern.lower().rstrip("."), hostname.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = hostname.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == hostname
