"""DNS resolvers made one way for every lookup mailprov does from the operator's machine
(`dns --check`, client-settings discovery): the system's, or only the given server."""

from __future__ import annotations

import dns.resolver


def dns_resolver(nameserver: str | None, port: int, timeout: float) -> dns.resolver.Resolver:
    """The system resolver, or one that asks only ``nameserver`` (an IP address) on ``port``;
    ``timeout`` bounds one attempt and the whole query alike."""
    if nameserver is None:
        res = dns.resolver.Resolver()
    else:
        res = dns.resolver.Resolver(configure=False)
        res.nameservers = [nameserver]
        res.port = port
    res.timeout = res.lifetime = timeout
    return res
