"""The provider table (providers.toml): mailbox providers, their servers, how to recognise them.

Read once, checked field by field: a broken table is a bug in the package, reported as
``providers.toml: provider[3].servers[0].port: ... (fix the table)``.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from typing import Any, Literal, cast

Protocol = Literal["imap", "pop3", "smtp"]
Security = Literal["ssl", "starttls"]
UsernameForm = Literal["address", "localpart"]
PROTOCOLS: tuple[str, ...] = ("imap", "pop3", "smtp")
SECURITIES: tuple[str, ...] = ("ssl", "starttls")
USERNAME_FORMS: tuple[str, ...] = ("address", "localpart")
AUTH_KINDS: tuple[str, ...] = ("password", "app-password", "oauth", "bridge-password")
FILE = "providers.toml"

_AUTH_TEXT = {
    "password": "the account password",
    "app-password": "an app password",
    "oauth": "OAuth2 sign-in where the client supports it",
    "bridge-password": "the password Proton Mail Bridge shows",
}


class TableError(ValueError):
    """The provider table is malformed."""


@dataclass(frozen=True)
class Endpoint:
    protocol: Protocol
    host: str
    port: int
    security: Security
    username: UsernameForm = "address"


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    domains: tuple[str, ...]
    mx: tuple[str, ...]
    auth: tuple[str, ...]
    servers: tuple[Endpoint, ...]
    source: str
    checked: dt.date
    confirmed_by: str | None = None
    note: str = ""

    def endpoints(self, protocol: str) -> tuple[Endpoint, ...]:
        return tuple(s for s in self.servers if s.protocol == protocol)

    @property
    def imap(self) -> Endpoint | None:
        return next(iter(self.endpoints("imap")), None)

    @property
    def pop3(self) -> Endpoint | None:
        return next(iter(self.endpoints("pop3")), None)

    @property
    def smtp(self) -> Endpoint | None:
        return next(iter(self.endpoints("smtp")), None)

    def submission(self, security: Security) -> Endpoint | None:
        """The submission server that starts TLS the way ``security`` says."""
        return next((s for s in self.endpoints("smtp") if s.security == security), None)

    def serves(self, domain: str) -> bool:
        """``domain`` is one of this provider's mailbox domains."""
        domain = domain.lower().rstrip(".")
        return any(fnmatchcase(domain, pattern) for pattern in self.domains)

    def password_hint(self) -> str:
        return " or ".join(_AUTH_TEXT[a] for a in self.auth)


def _need(entry: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = entry.get(key)
    if not isinstance(value, kind) or (kind is str and not value):
        raise TableError(f"{FILE}: {where}.{key}: missing or not a {kind.__name__} (fix the table)")
    return value


def _choice(value: object, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise TableError(f"{FILE}: {where}: {value!r} is not one of {', '.join(choices)} (fix the table)")
    return str(value)


def _endpoint(raw: object, where: str) -> Endpoint:
    if not isinstance(raw, dict):
        raise TableError(f"{FILE}: {where}: not a table (fix the table)")
    port = _need(raw, "port", int, where)
    if not 0 < port < 65536:
        raise TableError(f"{FILE}: {where}.port: {port} is not a port (fix the table)")
    return Endpoint(
        protocol=cast(Protocol, _choice(raw.get("protocol"), PROTOCOLS, f"{where}.protocol")),
        host=_need(raw, "host", str, where).lower(),
        port=port,
        security=cast(Security, _choice(raw.get("security"), SECURITIES, f"{where}.security")),
        username=cast(UsernameForm, _choice(raw.get("username", "address"), USERNAME_FORMS, f"{where}.username")),
    )


def _strings(entry: dict[str, Any], key: str, where: str, required: bool = True) -> tuple[str, ...]:
    value = entry.get(key, [] if not required else None)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value) or (required and not value):
        raise TableError(f"{FILE}: {where}.{key}: a list of names is needed (fix the table)")
    return tuple(v.lower() for v in value)


def _provider(raw: object, where: str) -> Provider:
    if not isinstance(raw, dict):
        raise TableError(f"{FILE}: {where}: not a table (fix the table)")
    servers = raw.get("servers")
    if not isinstance(servers, list) or not servers:
        raise TableError(f"{FILE}: {where}.servers: at least one server is needed (fix the table)")
    checked = raw.get("checked")
    if not isinstance(checked, dt.date):
        raise TableError(f"{FILE}: {where}.checked: a date (YYYY-MM-DD) is needed (fix the table)")
    for key in ("source", "confirmed_by"):
        url = raw.get(key)
        if (key == "source" or url is not None) and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
            raise TableError(f"{FILE}: {where}.{key}: a URL is needed (fix the table)")
    auth = _strings(raw, "auth", where)
    for kind in auth:
        _choice(kind, AUTH_KINDS, f"{where}.auth")
    return Provider(
        id=_need(raw, "id", str, where),
        name=_need(raw, "name", str, where),
        domains=_strings(raw, "domains", where, required=False),
        mx=_strings(raw, "mx", where, required=False),
        auth=auth,
        servers=tuple(_endpoint(s, f"{where}.servers[{i}]") for i, s in enumerate(servers)),
        source=raw["source"],
        checked=checked,
        confirmed_by=raw.get("confirmed_by"),
        note=str(raw.get("note", "")),
    )


def parse(text: str) -> tuple[Provider, ...]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise TableError(f"{FILE}: {err} (fix the table)") from None
    entries = data.get("provider")
    if not isinstance(entries, list) or not entries:
        raise TableError(f"{FILE}: provider: no [[provider]] entries (fix the table)")
    found = tuple(_provider(raw, f"provider[{i}]") for i, raw in enumerate(entries))
    ids = [p.id for p in found]
    if len(set(ids)) != len(ids):
        raise TableError(f"{FILE}: provider: an id is used twice (fix the table)")
    return found


@cache
def providers() -> tuple[Provider, ...]:
    """Every provider of the packaged table, in table order."""
    return parse(resources.files("provisioner.providers").joinpath(FILE).read_text(encoding="utf-8"))


def get(provider_id: str) -> Provider:
    for provider in providers():
        if provider.id == provider_id:
            return provider
    raise KeyError(provider_id)


def for_domain(domain: str) -> Provider | None:
    """The provider whose mailbox domain ``domain`` is (gmail.com, yahoo.co.uk, web.de...)."""
    return next((p for p in providers() if p.serves(domain)), None)


def for_mx(host: str) -> Provider | None:
    """The provider an MX host belongs to: an explicit MX pattern first, then a host under one
    of its own domains (mx00.gmx.net is GMX's)."""
    host = host.lower().rstrip(".")
    for provider in providers():
        if any(fnmatchcase(host, pattern) for pattern in provider.mx):
            return provider
    for provider in providers():
        if any(host.endswith("." + d.removeprefix("*.")) for d in provider.domains):
            return provider
    return None
