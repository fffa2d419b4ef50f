"""Client settings from DNS: RFC 6186 SRV records and the domain's MX hosts."""

from __future__ import annotations

import dns.exception
import dns.resolver

from provisioner.providers.table import Endpoint, Protocol, Security

# RFC 6186 (and RFC 8314 for _submissions): service label -> what it means.
SRV_SERVICES: tuple[tuple[str, Protocol, Security], ...] = (
    ("_submissions._tcp", "smtp", "ssl"),
    ("_submission._tcp", "smtp", "starttls"),
    ("_imaps._tcp", "imap", "ssl"),
    ("_imap._tcp", "imap", "starttls"),
    ("_pop3s._tcp", "pop3", "ssl"),
)


class LookupFailed(Exception):
    """A source did not answer (timeout, refused, SERVFAIL): the message says which."""


def resolver(nameserver: str | None, port: int, timeout: float) -> dns.resolver.Resolver:
    """The system resolver, or one that asks only ``nameserver`` on ``port``; ``timeout`` is
    the whole lifetime of one query."""
    if nameserver is None:
        res = dns.resolver.Resolver()
    else:
        res = dns.resolver.Resolver(configure=False)
        res.nameservers = [nameserver]
        res.port = port
    res.timeout = res.lifetime = timeout
    return res


def _query(res: dns.resolver.Resolver, name: str, rtype: str, lifetime: float) -> dns.resolver.Answer | None:
    try:
        return res.resolve(name, rtype, raise_on_no_answer=False, lifetime=lifetime)
    except dns.resolver.NXDOMAIN:
        return None
    except dns.exception.Timeout:
        raise LookupFailed(f"{name} {rtype}: no answer within {lifetime:.1f} s") from None
    except (dns.resolver.NoNameservers, dns.exception.DNSException) as err:
        raise LookupFailed(f"{name} {rtype}: {err}") from None


def srv_servers(res: dns.resolver.Resolver, domain: str, lifetime: float) -> tuple[Endpoint, ...]:
    """One server per RFC 6186 service the domain publishes (lowest priority, highest weight
    first); a target of "." says the service is not offered and is left out."""
    found: list[Endpoint] = []
    for label, protocol, security in SRV_SERVICES:
        answer = _query(res, f"{label}.{domain}.", "SRV", lifetime)
        if answer is None or answer.rrset is None:
            continue
        records = sorted(answer.rrset, key=lambda r: (r.priority, -r.weight))
        best = records[0]
        target = best.target.to_text().rstrip(".").lower()
        if target and best.port:
            found.append(Endpoint(protocol, target, int(best.port), security))
    return tuple(found)


def mx_hosts(res: dns.resolver.Resolver, domain: str, lifetime: float) -> tuple[str, ...]:
    """The domain's MX hosts, most preferred first (a null MX "." is left out)."""
    answer = _query(res, f"{domain}.", "MX", lifetime)
    if answer is None or answer.rrset is None:
        return ()
    ordered = sorted(answer.rrset, key=lambda r: r.preference)
    hosts = (r.exchange.to_text().rstrip(".").lower() for r in ordered)
    return tuple(h for h in hosts if h)


def address_of(res: dns.resolver.Resolver, host: str, lifetime: float) -> str:
    """The first IPv4 address of ``host`` (then IPv6), through ``res``."""
    for rtype in ("A", "AAAA"):
        answer = _query(res, f"{host}.", rtype, lifetime)
        if answer is not None and answer.rrset is not None:
            return str(next(iter(answer.rrset)))
    raise LookupFailed(f"{host}: no address")
