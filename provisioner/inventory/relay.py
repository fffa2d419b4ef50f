"""`mailprov relay`: the `mail_relay` setting built from a preset or a host, password in the vault."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.inventory import vault_vars
from provisioner.inventory.model import Inventory, Relay
from provisioner.inventory.names import normalize_domain
from provisioner.inventory.settings_file import edit_settings
from provisioner.problems import UsageError, shown
from provisioner.providers import relay_presets
from provisioner.providers.relay_presets import DEFAULT_PORTS

KEY = "mail_relay"
VAULT_KEY = "vault_mail_relay_password"
PASSWORD_REFERENCE = "{{ " + VAULT_KEY + " }}"
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")


@dataclass(frozen=True)
class RelayRequest:
    provider: str | None = None
    region: str | None = None
    host: str | None = None
    port: int | None = None
    tls: str | None = None
    username: str | None = None
    sender_domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class SetResult:
    entry: dict[str, Any]
    created_password_file: Path | None  # the vault password file, when this command created it


def build_entry(request: RelayRequest) -> dict[str, Any]:
    """The mail_relay mapping (without the password) for a preset or an explicit host."""
    if (request.provider is None) == (request.host is None):
        raise UsageError("give either --provider NAME or --host HOST")
    entry: dict[str, Any] = {}
    if request.provider is not None:
        preset = relay_presets.get(request.provider)
        if preset is None:
            raise UsageError(f"unknown provider {request.provider!r}; known: {', '.join(relay_presets.PRESETS)}")
        if request.region is not None and not preset.regions:
            raise UsageError(f"--region applies to providers with regions (ses), not {preset.name}")
        if request.region is not None and not _REGION.fullmatch(request.region):
            raise UsageError(f"{shown(request.region)} is not a region name such as eu-west-1")
        if request.username is None:
            raise UsageError(f"{preset.title} needs --username ({preset.username_hint})")
        entry["provider"] = preset.name
        host, tls = preset.smtp_host(request.region), request.tls or preset.tls
        port = request.port or (preset.port if tls == preset.tls else DEFAULT_PORTS[tls])
    else:
        host = normalize_domain(str(request.host))
        tls = request.tls or ("implicit" if request.port == 465 else "starttls")
        port = request.port or DEFAULT_PORTS[tls]
    if port == 465 and tls == "starttls":
        raise UsageError("port 465 speaks TLS from the first byte, not STARTTLS: use --tls implicit or port 587")
    entry["host"] = host
    entry["port"] = port
    if tls != "starttls":
        entry["tls"] = tls
    if request.username is not None:
        entry["username"] = request.username
        entry["password"] = PASSWORD_REFERENCE
    if request.sender_domains:
        entry["sender_domains"] = list(request.sender_domains)
    return entry


def check_sender_domains(inventory: Inventory, domains: tuple[str, ...]) -> tuple[str, ...]:
    """Sender domains in canonical form; each must be hosted here (a domain or an alias domain)."""
    hosted = {name for d in inventory.domains for name in (d.name, *d.alias_domains)}
    canonical = tuple(dict.fromkeys(normalize_domain(d) for d in domains))
    unknown = [d for d in canonical if d not in hosted]
    if unknown:
        raise UsageError(f"not a domain of this inventory: {', '.join(unknown)} (add it with `mailprov domain add`)")
    return canonical


def set_relay(root: Path, request: RelayRequest, password: str | None) -> SetResult:
    """Write mail_relay (validated, comments kept) and the password into the vault only."""
    entry = build_entry(request)
    if (password is None) != (request.username is None):
        raise UsageError("a username needs a password and a password needs a username")
    created: list[Path] = []

    def store_password() -> None:
        assert password is not None
        secret_file, fresh = vault_vars.password_file(root, create=True)
        assert secret_file is not None
        if fresh:
            created.append(secret_file)
        vault_vars.set_secret(root, VAULT_KEY, password, secret_file)

    with edit_settings(root, KEY) as edit:
        if request.sender_domains:
            entry["sender_domains"] = list(check_sender_domains(edit.inventory, request.sender_domains))
        edit.data[KEY] = entry
        if password is not None:
            edit.before_write(store_password)
        else:
            edit.before_write(lambda: _forget_password(root))
    return SetResult(entry, created[0] if created else None)


def clear_relay(root: Path) -> bool:
    """Remove mail_relay and its vault password; whether there was a relay."""
    with edit_settings(root, KEY) as edit:
        had = edit.data.pop(KEY, None) is not None
        edit.before_write(lambda: _forget_password(root))
    return had


def _forget_password(root: Path) -> None:
    vault_vars.remove_secret(root, VAULT_KEY)


def describe(relay: Relay) -> dict[str, Any]:
    """The relay for `relay show`: everything but the password, which is only located."""
    password = None
    if relay.password is not None:
        password = f"vault: {VAULT_KEY}" if VAULT_KEY in relay.password else "vault (inline or other variable)"
    return {
        "provider": relay.provider or (p.name if (p := relay_presets.for_host(relay.host)) else None),
        "host": relay.host,
        "port": relay.port,
        "tls": relay.tls,
        "username": relay.username,
        "password": password,
        "sender_domains": list(relay.sender_domains) or "all",
    }
