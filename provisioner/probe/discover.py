"""Discovery for a domain that is neither ours nor a known provider's, in the order clients use:

1. DNS SRV records (RFC 6186: _submissions, _submission, _imaps, _imap, _pop3s);
2. Thunderbird autoconfig at https://autoconfig.DOMAIN/mail/config-v1.1.xml, then at
   https://DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml;
3. the domain's MX hosts matched to a provider of the table (MX at google.com: Gmail);
4. Outlook autodiscover (POST https://autodiscover.DOMAIN/autodiscover/autodiscover.xml), when
   it answers without credentials.

The first source that names an incoming and an outgoing server is the answer, labelled with
how it was found; every source asked is reported with its outcome. Each lookup has a short
timeout and all of them share one time budget; a DNS server that does not answer is not
asked again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import dns.resolver

from provisioner.probe.discover_dns import LookupFailed, mx_hosts, srv_servers
from provisioner.probe.discover_http import (
    AUTODISCOVER_REQUEST,
    Https,
    autoconfig_servers,
    autodiscover_servers,
    parse_xml,
)
from provisioner.providers import table
from provisioner.providers.table import Endpoint, Provider

TIMEOUT = 3.0  # one lookup
BUDGET = 12.0  # all lookups of one address


@dataclass(frozen=True)
class Network:
    """Where lookups go. ``resolver`` None: no DNS; ``https`` None: no HTTPS (``--offline``)."""

    resolver: dns.resolver.Resolver | None
    https: Https | None
    timeout: float = TIMEOUT
    budget: float = BUDGET

    @property
    def offline(self) -> bool:
        return self.resolver is None and self.https is None


OFFLINE = Network(None, None)


@dataclass(frozen=True)
class Attempt:
    method: str  # srv | autoconfig | well-known | mx | autodiscover
    asked: str  # the name or URL asked
    outcome: str  # found | partial | nothing | failed: ... | skipped: ...


@dataclass(frozen=True)
class Discovery:
    label: str | None  # how the answer was found; None: nothing found
    servers: tuple[Endpoint, ...] = ()
    provider: Provider | None = None  # set when the answer came from the MX
    attempts: tuple[Attempt, ...] = field(default=())
    complete: bool = False


def _complete(servers: tuple[Endpoint, ...]) -> bool:
    protocols = {s.protocol for s in servers}
    return "smtp" in protocols and bool(protocols & {"imap", "pop3"})


class _Run:
    def __init__(self, net: Network) -> None:
        self.net = net
        self.deadline = time.monotonic() + net.budget
        self.dns_dead = ""
        self.attempts: list[Attempt] = []

    def lifetime(self) -> float:
        return min(self.net.timeout, self.deadline - time.monotonic())

    def step(self, method: str, asked: str, lookup: Callable[[float], tuple[Endpoint, ...]]) -> tuple[Endpoint, ...]:
        left = self.lifetime()
        if left <= 0.05:
            self.attempts.append(Attempt(method, asked, "skipped: time budget used"))
            return ()
        try:
            servers = lookup(left)
        except LookupFailed as err:
            self.attempts.append(Attempt(method, asked, f"failed: {err}"))
            return ()
        outcome = "found" if _complete(servers) else ("partial" if servers else "nothing")
        self.attempts.append(Attempt(method, asked, outcome))
        return servers


def discover(address: str, domain: str, net: Network) -> Discovery:
    """Settings for ``address`` at ``domain`` from the network (see the module doc)."""
    run = _Run(net)
    partial: Discovery | None = None
    for label, servers, provider in _sources(run, address, domain):
        if _complete(servers):
            return Discovery(label, servers, provider, tuple(run.attempts), complete=True)
        if servers and partial is None:
            partial = Discovery(label, servers, provider)
    if partial is not None:
        return Discovery(partial.label, partial.servers, partial.provider, tuple(run.attempts))
    return Discovery(None, attempts=tuple(run.attempts))


def _sources(run: _Run, address: str, domain: str) -> Iterator[tuple[str, tuple[Endpoint, ...], Provider | None]]:
    """Yield (label, servers, provider) per source, lazily: asking stops at the first answer."""
    net = run.net
    if net.resolver is not None:
        res = net.resolver

        def srv(left: float) -> tuple[Endpoint, ...]:
            try:
                return srv_servers(res, domain, left)
            except LookupFailed as err:
                run.dns_dead = str(err)
                raise

        yield f"DNS SRV records (RFC 6186) of {domain}", run.step("srv", f"_*._tcp.{domain} SRV", srv), None
    if net.https is not None:
        https = net.https
        for method, url in (
            ("autoconfig", f"https://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress={quote(address)}"),
            ("well-known", f"https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml"),
        ):

            def autoconfig(left: float, url: str = url) -> tuple[Endpoint, ...]:
                return autoconfig_servers(parse_xml(https.request(url, left), url), url)

            yield f"autoconfig document {url.split('?')[0]}", run.step(method, url, autoconfig), None
    if net.resolver is not None:
        res = net.resolver
        matched: list[tuple[str, Provider]] = []

        def mx(left: float) -> tuple[Endpoint, ...]:
            if run.dns_dead:
                raise LookupFailed(f"DNS did not answer before ({run.dns_dead})")
            for host in mx_hosts(res, domain, left):
                provider = table.for_mx(host)
                if provider is not None:
                    matched.append((host, provider))
                    return provider.servers
            return ()

        servers = run.step("mx", f"{domain} MX", mx)
        if matched:
            host, provider = matched[0]
            yield f"MX {host} is {provider.name}'s (provider table)", servers, provider
    if net.https is not None:
        https = net.https
        url = f"https://autodiscover.{domain}/autodiscover/autodiscover.xml"
        body = AUTODISCOVER_REQUEST.format(address=_xml_text(address)).encode()

        def autodiscover(left: float) -> tuple[Endpoint, ...]:
            return autodiscover_servers(parse_xml(https.request(url, left, body), url), url)

        yield f"Outlook autodiscover {url}", run.step("autodiscover", url, autodiscover), None


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
