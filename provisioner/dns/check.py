"""`mailprov dns --check`: query DNS for every planned record; ok, missing or different."""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import dns.exception
import dns.rdatatype
import dns.resolver

from provisioner.dns.records import Record
from provisioner.resolvers import dns_resolver

Status = Literal["ok", "missing", "different"]


@dataclass(frozen=True)
class Finding:
    record: Record
    status: Status
    found: tuple[str, ...]  # what DNS answered for that name and type (normalised)


def resolver(nameserver: str | None, port: int) -> dns.resolver.Resolver:
    """The system resolver, or one that asks only `nameserver` (an IP address) on `port`."""
    return dns_resolver(nameserver, port, timeout=10.0)


def normalise(rtype: str, text: str) -> str:
    """One comparable form: lower-case names and whitespace squeezed; TXT strings joined."""
    if rtype == "TXT":
        return " ".join(text.split())
    return " ".join(text.lower().split())


def _answers(res: dns.resolver.Resolver, name: str, rtype: str) -> tuple[str, ...]:
    try:
        answer = res.resolve(name, rtype, raise_on_no_answer=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoNameservers):
        return ()
    if answer.rrset is None:
        return ()
    values = []
    for rdata in answer.rrset:
        if rdata.rdtype == dns.rdatatype.TXT:
            values.append(b"".join(rdata.strings).decode("utf-8", "replace"))
        else:
            values.append(rdata.to_text())
    return tuple(sorted(normalise(rtype, v) for v in values))


def check(records: Iterable[Record], res: dns.resolver.Resolver) -> list[Finding]:
    """Each record against DNS. For SPF/DMARC/TLS-RPT/DKIM only the TXT of the same kind counts."""
    findings = []
    for record in records:
        try:
            found = _answers(res, record.name, record.type)
        except dns.exception.Timeout:
            found = ()
        wanted = normalise(record.type, record.value)
        if record.type == "TXT":
            kind = wanted.split(";")[0].split(" ")[0]  # v=spf1, v=DMARC1, v=DKIM1, v=TLSRPTv1
            found = tuple(v for v in found if v.split(";")[0].split(" ")[0].lower() == kind.lower())
        status: Status = "ok" if wanted in found else ("different" if found else "missing")
        findings.append(Finding(record, status, found))
    return findings


def check_served(records: Iterable[Record], addresses: dict[str, str],
                 served: Callable[[str], str]) -> list[Finding]:
    """Each TLSA record against what its host serves on 25: `addresses` maps the TLSA record's
    name to the host's address, `served` returns `3 1 1 <hex>` of that address's certificate."""
    findings = []
    for record in records:
        if record.type != "TLSA" or record.name not in addresses:
            continue
        address = addresses[record.name]
        shown = Record(f"{address}:25 (served)", "TLSA", record.value, record.zone)
        try:
            value = normalise("TLSA", served(address))
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            findings.append(Finding(shown, "missing", (f"no certificate: {exc}",)))
            continue
        status: Status = "ok" if value == normalise("TLSA", record.value) else "different"
        findings.append(Finding(shown, status, (value,)))
    return findings
