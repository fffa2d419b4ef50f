"""Turn the raw YAML documents of an inventory into the typed model, collecting every problem.

Field-level rules live here; rules that need the whole inventory live in consistency.py.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from provisioner.inventory.model import (
    DEFAULT_MESSAGE_SIZE_LIMIT,
    DMARC_POLICIES,
    TLS_MODES,
    Alias,
    Dkim,
    Dmarc,
    DmarcPolicy,
    Domain,
    Host,
    Mailbox,
    Relay,
    RelayTls,
    Settings,
    Spam,
    Tls,
    TlsMode,
)
from provisioner.inventory.names import InvalidName, normalize_address, normalize_domain
from provisioner.inventory.passwords import HASH_HELP, scheme_of
from provisioner.inventory.ports import ADDRESS_VAR, PORTS_VAR, PUBLIC_PORTS
from provisioner.problems import Problem
from provisioner.providers.relay_presets import DEFAULT_PORTS, PRESETS
from provisioner.providers.relay_presets import TLS_MODES as RELAY_TLS_MODES

T = TypeVar("T")

GROUP = "mailservers"
SETTINGS_KEYS = {
    "mail_hostname", "mail_tls", "mail_message_size_limit", "mail_relay", "mail_dmarc", "mail_dkim", "mail_spam",
}
ACCOUNTS_KEY = "mail_domains"
# Variables meant for Ansible itself, for a vault, or to tune one role are not ours to check.
PASSTHROUGH_PREFIXES = (
    "ansible_", "vault_", "mailprov_", "postfix_", "dovecot_", "mail_base_", "mail_accounts_", "rspamd_",
)
RELEASE_VAR = "mailprov_release"  # the Debian release `rehearse` stands the host up on
RELEASE_VALUES = ("trixie", "bookworm")
HOST_KEYS = {"mail_hostname", PORTS_VAR, ADDRESS_VAR, RELEASE_VAR}
DOMAIN_KEYS = ("name", "alias_domains", "catch_all", "mailboxes", "aliases")
MAILBOX_KEYS = ("address", "password", "quota", "aliases")
ALIAS_KEYS = ("source", "targets")
TLS_KEYS = ("mode", "cert_file", "key_file", "email")
RELAY_KEYS = ("host", "port", "username", "password", "provider", "tls", "sender_domains")
DMARC_KEYS = ("policy", "rua")
DKIM_KEYS = ("selector",)
SPAM_KEYS = ("reject_score", "junk_score", "greylist")
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

_SIZE = re.compile(r"^([1-9][0-9]*)\s*([KMGT]?)B?$", re.IGNORECASE)
_CANONICAL_SIZE = re.compile(r"[1-9][0-9]*[KMGT]?")
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_VAULT_REFERENCE = re.compile(r"^\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}$")
_MIN_MESSAGE_SIZE = 1024 * 1024


@dataclass
class Collector:
    """Gathers problems so that one validation run reports all of them at once."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, file: str, where: str, message: str, fix: str) -> None:
        self.problems.append(Problem(file, where, message, fix))


class EncryptedFile:
    """Stands for a group_vars file encrypted whole with Ansible Vault: only Ansible reads it."""


ENCRYPTED = EncryptedFile()


@dataclass(frozen=True)
class RawInventory:
    """What the YAML files hold, keyed by path relative to the inventory folder."""

    root: Path
    hosts: Any
    group_files: Mapping[str, Any]
    hosts_file: str = "hosts.yml"


def parse_size(value: object) -> int | None:
    """Bytes in a size like 50M, 2G or 1048576; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    match = _SIZE.fullmatch(str(value).strip())
    if not match:
        return None
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def normalize_quota(value: object) -> str | None:
    """Quota in Dovecot's notation (2G, 500M, bytes), or None when invalid."""
    if parse_size(value) is None:
        return None
    match = _SIZE.fullmatch(str(value).strip())
    assert match is not None
    return match.group(1) + match.group(2).upper()


def is_vault_value(value: object) -> bool:
    """A `{{ vault_var }}` reference or an inline `!vault` encrypted scalar."""
    tag = getattr(getattr(value, "tag", None), "value", getattr(value, "tag", None))
    if isinstance(tag, str) and tag.endswith("vault"):
        return True
    return isinstance(value, str) and bool(_VAULT_REFERENCE.fullmatch(value.strip()))


class _Reader:
    """Reads one file's values with a collector, naming fields the way operators see them."""

    def __init__(self, file: str, out: Collector) -> None:
        self.file = file
        self.out = out

    def problem(self, where: str, message: str, fix: str) -> None:
        self.out.add(self.file, where, message, fix)

    def mapping(self, value: object, where: str, what: str) -> Mapping[str, Any] | None:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.problem(where, f"expected {what}, found {_kind(value)}", f"write {what} here")
            return None
        return cast(Mapping[str, Any], value)

    def known_keys(self, value: Mapping[str, Any], where: str, allowed: tuple[str, ...]) -> None:
        for key in value:
            if key not in allowed:
                hint = _closest(str(key), allowed)
                self.problem(
                    f"{where}.{key}" if where else str(key),
                    "unknown key",
                    f"did you mean {hint!r}?" if hint else f"allowed keys: {', '.join(allowed)}",
                )

    def string_list(self, value: object, where: str) -> list[str] | None:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [str(v) for v in value]
        self.problem(where, f"expected a list of addresses, found {_kind(value)}",
                     "write a YAML list such as [alice@example.org]")
        return None

    def name(self, value: object, where: str, convert: Callable[[str], str], example: str) -> str | None:
        if not isinstance(value, str):
            self.problem(where, f"expected a text value, found {_kind(value)}", f"write e.g. {example}")
            return None
        try:
            converted = convert(value)
        except InvalidName as err:
            self.problem(where, str(err), f"write e.g. {example}")
            return None
        if converted != value:
            # Ansible reads the file itself: what it renders must already be the canonical form.
            self.problem(where, f"{value!r} is not in canonical form",
                         f"write {converted} (lower case, international names as A-labels)")
            return None
        return converted

    def domain(self, value: object, where: str) -> str | None:
        return self.name(value, where, normalize_domain, "example.org")

    def address(self, value: object, where: str) -> str | None:
        return self.name(value, where, normalize_address, "alice@example.org")

    def addresses(self, value: object, where: str) -> list[str] | None:
        raw = self.string_list(value, where)
        if raw is None:
            return None
        parsed = [self.address(v, f"{where}[{i}]") for i, v in enumerate(raw)]
        return [p for p in parsed if p is not None] if all(parsed) else None


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a yes/no value"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return "a number"
    return "text"


def _closest(key: str, allowed: tuple[str, ...]) -> str | None:
    found = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return found[0] if found else None


# --- hosts.yml ----------------------------------------------------------------------------

def parse_hosts(raw: RawInventory, out: Collector) -> tuple[Host, ...]:
    reader = _Reader(raw.hosts_file, out)
    fix = f"list the servers under all.children.{GROUP}.hosts"
    top = reader.mapping(raw.hosts, "(top level)", "a mapping")
    if top is None:
        return ()
    group = _find_group(top)
    if group is None:
        reader.problem(f"all.children.{GROUP}", "the mail server group is missing", fix)
        return ()
    hosts = reader.mapping(group.get("hosts"), f"{GROUP}.hosts", "a mapping of host names")
    if not hosts:
        if hosts is not None:
            reader.problem(f"{GROUP}.hosts", "no hosts", fix)
        return ()
    parsed = []
    for name, host_vars in hosts.items():
        where = f"{GROUP}.hosts.{name}"
        values = reader.mapping(host_vars, where, "a mapping of host variables")
        if values is None:
            continue
        for key in values:
            if str(key) not in HOST_KEYS and not str(key).startswith("ansible_"):
                reader.problem(f"{where}.{key}", "unknown host variable",
                               f"use ansible_* connection variables or one of {', '.join(sorted(HOST_KEYS))}")
        if "mail_hostname" in values:
            reader.domain(values["mail_hostname"], f"{where}.mail_hostname")
        _check_host_ports(reader, values, where)
        if RELEASE_VAR in values and values[RELEASE_VAR] not in RELEASE_VALUES:
            reader.problem(f"{where}.{RELEASE_VAR}", f"{values[RELEASE_VAR]!r} is not a supported release",
                           f"write one of {', '.join(RELEASE_VALUES)}")
        parsed.append(Host(str(name), dict(values)))
    return tuple(parsed)


def _check_host_ports(reader: _Reader, values: Mapping[str, Any], where: str) -> None:
    """Where a host's services are published, when not on the standard ports (the sandbox)."""
    address = values.get(ADDRESS_VAR)
    if ADDRESS_VAR in values and (not isinstance(address, str) or not address.strip()):
        reader.problem(f"{where}.{ADDRESS_VAR}", "expected an address or host name",
                       "write e.g. 127.0.0.1, or remove it to use ansible_host")
    ports = reader.mapping(values.get(PORTS_VAR), f"{where}.{PORTS_VAR}", "a mapping of service: port")
    reader.known_keys(ports or {}, f"{where}.{PORTS_VAR}", tuple(PUBLIC_PORTS))
    for service, port in (ports or {}).items():
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            reader.problem(f"{where}.{PORTS_VAR}.{service}", f"{port!r} is not a port number",
                           f"write the published port, e.g. {PUBLIC_PORTS.get(str(service), 25)}")


def _find_group(top: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if isinstance(top.get(GROUP), Mapping):
        return cast(Mapping[str, Any], top[GROUP])
    every = top.get("all")
    children = every.get("children") if isinstance(every, Mapping) else None
    group = children.get(GROUP) if isinstance(children, Mapping) else None
    return cast(Mapping[str, Any], group) if isinstance(group, Mapping) else None


# --- group_vars/mailservers/*.yml -------------------------------------------------------------

def merged_group_vars(raw: RawInventory, out: Collector) -> dict[str, tuple[str, Any]]:
    """Every group variable with the file that defines it; a variable defined twice is an error."""
    merged: dict[str, tuple[str, Any]] = {}
    for file, data in raw.group_files.items():
        if data is ENCRYPTED:
            continue
        reader = _Reader(file, out)
        values = reader.mapping(data, "(top level)", "a mapping of variables")
        for key, value in (values or {}).items():
            name = str(key)
            if name in merged:
                reader.problem(name, f"also defined in {merged[name][0]}",
                               "keep the variable in one file only")
                continue
            if name not in SETTINGS_KEYS | {ACCOUNTS_KEY} and not name.startswith(
                PASSTHROUGH_PREFIXES
            ):
                hint = _closest(name, tuple(sorted(SETTINGS_KEYS | {ACCOUNTS_KEY})))
                reader.problem(name, "unknown setting",
                               f"did you mean {hint!r}?" if hint else "remove it or fix the name")
            merged[name] = (file, value)
    return merged


def parse_settings(
    raw: RawInventory, group_vars: Mapping[str, tuple[str, Any]], hosts: tuple[Host, ...],
    out: Collector,
) -> Settings | None:
    default_file = next(iter(raw.group_files), f"group_vars/{GROUP}/main.yml")
    hostname: str | None = ""
    if "mail_hostname" in group_vars:
        file, value = group_vars["mail_hostname"]
        hostname = _Reader(file, out).domain(value, "mail_hostname")
    elif not (hosts and all("mail_hostname" in h.vars for h in hosts)):
        out.add(default_file, "mail_hostname", "missing",
                "set the server's fully qualified name, e.g. mail_hostname: mail.example.org")
        hostname = None
    tls = _parse_tls(raw, group_vars, out)
    size = _parse_message_size(group_vars, out)
    relay_ok, relay = _parse_relay(group_vars, out)
    dmarc = _parse_dmarc(group_vars, out)
    dkim = _parse_dkim(group_vars, out)
    spam = _parse_spam(group_vars, out)
    if (hostname is None or tls is None or size is None or not relay_ok or dmarc is None or dkim is None
            or spam is None):
        return None
    return Settings(hostname, tls, size, relay, dmarc, dkim, spam)


def _section(
    group_vars: Mapping[str, tuple[str, Any]], key: str, what: str, allowed: tuple[str, ...], out: Collector
) -> tuple[_Reader, Mapping[str, Any]] | None:
    """A setting that is a mapping (mail_tls, mail_relay...), its unknown keys reported; None
    (with a problem) when it is not a mapping."""
    file, value = group_vars[key]
    reader = _Reader(file, out)
    values = reader.mapping(value, key, what)
    if values is None:
        return None
    reader.known_keys(values, key, allowed)
    return reader, values


def _parse_tls(raw: RawInventory, group_vars: Mapping[str, tuple[str, Any]], out: Collector) -> Tls | None:
    if "mail_tls" not in group_vars:
        return Tls()
    section = _section(group_vars, "mail_tls", "a mapping with `mode`", TLS_KEYS, out)
    if section is None:
        return None
    reader, tls = section
    mode = tls.get("mode", "selfsigned")
    if mode not in TLS_MODES:
        reader.problem("mail_tls.mode", f"{mode!r} is not a TLS mode", f"use one of {', '.join(TLS_MODES)}")
        return None
    before = len(out.problems)
    if mode == "files":
        for key in ("cert_file", "key_file"):
            path = tls.get(key)
            if not isinstance(path, str) or not path:
                reader.problem(f"mail_tls.{key}", "required when mode is files",
                               "give the path of the PEM file on this machine")
            elif not (raw.root / path).is_file():
                reader.problem(f"mail_tls.{key}", f"{path} does not exist",
                               "fix the path (relative paths start at the inventory folder)")
    if mode == "acme" and reader.address(tls.get("email"), "mail_tls.email") is None:
        return None
    if len(out.problems) > before:
        return None
    return Tls(cast(TlsMode, mode), tls.get("cert_file"), tls.get("key_file"), tls.get("email"))


def _parse_message_size(group_vars: Mapping[str, tuple[str, Any]], out: Collector) -> int | None:
    if "mail_message_size_limit" not in group_vars:
        return DEFAULT_MESSAGE_SIZE_LIMIT
    file, value = group_vars["mail_message_size_limit"]
    size = parse_size(value)
    if size is not None and not isinstance(value, int) and not _CANONICAL_SIZE.fullmatch(str(value)):
        size = None  # Ansible's human_to_bytes reads 50M, not 50m or 50 MB
    if size is None or size < _MIN_MESSAGE_SIZE:
        out.add(file, "mail_message_size_limit", f"{value!r} is not a size of at least 1M",
                "write bytes or a size with K, M or G, e.g. 50M")
        return None
    return size


def _parse_relay(group_vars: Mapping[str, tuple[str, Any]], out: Collector) -> tuple[bool, Relay | None]:
    """Whether the relay setting is valid, and the relay (None when there is none)."""
    if "mail_relay" not in group_vars or group_vars["mail_relay"][1] is None:
        return True, None
    before = len(out.problems)
    section = _section(group_vars, "mail_relay", "a mapping with host, port, username, password", RELAY_KEYS, out)
    if section is None:
        return False, None
    reader, relay = section
    host = reader.domain(relay.get("host"), "mail_relay.host")
    # Without `tls`, port 465 means TLS from the first byte (RFC 8314) and anything else STARTTLS.
    tls = relay.get("tls", "implicit" if relay.get("port") == 465 else "starttls")
    if tls not in RELAY_TLS_MODES:
        reader.problem("mail_relay.tls", f"{tls!r} is not a relay TLS mode",
                       "use starttls (port 587) or implicit (TLS from the first byte, port 465)")
        tls = "starttls"
    port = relay.get("port", DEFAULT_PORTS[str(tls)])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        reader.problem("mail_relay.port", f"{port!r} is not a port number", "use e.g. 587 or 465")
    elif port == 465 and tls == "starttls":
        reader.problem("mail_relay.tls", "port 465 speaks TLS from the first byte, not STARTTLS",
                       "write tls: implicit, or use port 587")
    provider = relay.get("provider")
    if provider is not None and provider not in PRESETS:
        hint = _closest(str(provider), tuple(PRESETS))
        reader.problem("mail_relay.provider", f"{provider!r} is not a known provider",
                       f"did you mean {hint!r}?" if hint else f"use one of {', '.join(PRESETS)}, or leave it out")
    sender_domains = reader.string_list(relay.get("sender_domains"), "mail_relay.sender_domains") or []
    parsed_senders = [reader.domain(d, f"mail_relay.sender_domains[{i}]") for i, d in enumerate(sender_domains)]
    username, password = relay.get("username"), relay.get("password")
    if (username is None) != (password is None):
        reader.problem("mail_relay", "username and password go together", "set both or neither")
    if password is not None and not is_vault_value(password):
        reader.problem("mail_relay.password", "a plaintext password",
                       "put it in Ansible Vault and write password: \"{{ vault_mail_relay_password }}\"")
    if len(out.problems) > before or host is None:
        return False, None
    return True, Relay(host, int(port), None if username is None else str(username),
                       None if password is None else str(password),
                       None if provider is None else str(provider), cast(RelayTls, tls),
                       tuple(cast(list[str], parsed_senders)))


def _optional_section(
    group_vars: Mapping[str, tuple[str, Any]], key: str, what: str, allowed: tuple[str, ...], out: Collector,
    *, default: T, build: Callable[[_Reader, Mapping[str, Any]], T | None],
) -> T | None:
    """A mapping setting that may be left out (then `default`); None when it has any problem."""
    if key not in group_vars or group_vars[key][1] is None:
        return default
    before = len(out.problems)
    section = _section(group_vars, key, what, allowed, out)
    if section is None:
        return None
    built = build(*section)
    return None if len(out.problems) > before else built


def _parse_dmarc(group_vars: Mapping[str, tuple[str, Any]], out: Collector) -> Dmarc | None:
    """`mail_dmarc: {policy: quarantine, rua: [dmarc@example.org]}`: what `mailprov dns` proposes."""
    def build(reader: _Reader, dmarc: Mapping[str, Any]) -> Dmarc:
        policy = dmarc.get("policy", "quarantine")
        if policy not in DMARC_POLICIES:
            reader.problem("mail_dmarc.policy", f"{policy!r} is not a DMARC policy",
                           f"use one of {', '.join(DMARC_POLICIES)}")
        rua = reader.addresses(dmarc["rua"], "mail_dmarc.rua") if "rua" in dmarc else None
        return Dmarc(cast(DmarcPolicy, policy), None if rua is None else tuple(rua))

    return _optional_section(group_vars, "mail_dmarc", "a mapping with policy and rua", DMARC_KEYS, out,
                             default=Dmarc(), build=build)


def _parse_dkim(group_vars: Mapping[str, tuple[str, Any]], out: Collector) -> Dkim | None:
    """`mail_dkim: {selector: mail}`: the selector the server signs with (a new one rotates the keys)."""
    def build(reader: _Reader, dkim: Mapping[str, Any]) -> Dkim:
        selector = dkim.get("selector", Dkim.selector)
        if not isinstance(selector, str) or not _DNS_LABEL.fullmatch(selector):
            reader.problem("mail_dkim.selector", f"{selector!r} is not a DNS label",
                           "use lower-case letters, digits and inner hyphens, e.g. mail or mail2026")
        return Dkim(str(selector))

    return _optional_section(group_vars, "mail_dkim", "a mapping with selector", DKIM_KEYS, out,
                             default=Dkim(), build=build)


def _score(reader: _Reader, values: Mapping[str, Any], key: str, default: float) -> float | None:
    value = values.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1000:
        reader.problem(f"mail_spam.{key}", f"{value!r} is not a positive score", f"use a number, e.g. {default:g}")
        return None
    return float(value)


def _parse_spam(group_vars: Mapping[str, tuple[str, Any]], out: Collector) -> Spam | None:
    """`mail_spam: {reject_score: 15, junk_score: 6, greylist: false}`: rspamd's thresholds."""
    def build(reader: _Reader, spam: Mapping[str, Any]) -> Spam | None:
        reject = _score(reader, spam, "reject_score", Spam.reject_score)
        junk = _score(reader, spam, "junk_score", Spam.junk_score)
        if reject is not None and junk is not None and junk >= reject:
            reader.problem("mail_spam.junk_score", f"{junk:g} is not below reject_score {reject:g}",
                           "mail between the two goes into Junk: make junk_score the smaller")
        greylist = spam.get("greylist", False)
        if not isinstance(greylist, bool):
            reader.problem("mail_spam.greylist", f"{greylist!r} is not true or false",
                           "write greylist: true or false")
        return None if reject is None or junk is None else Spam(reject, junk, greylist)

    return _optional_section(group_vars, "mail_spam", "a mapping with reject_score, junk_score, greylist",
                             SPAM_KEYS, out, default=Spam(), build=build)


# --- mail_domains ---------------------------------------------------------------------------------

def parse_domains(file: str, value: object, out: Collector) -> tuple[Domain, ...] | None:
    reader = _Reader(file, out)
    if value is None:
        return ()
    if not isinstance(value, list):
        reader.problem(ACCOUNTS_KEY, f"expected a list of domains, found {_kind(value)}",
                       "write `mail_domains:` followed by `- name: example.org` entries")
        return None
    before = len(out.problems)
    domains = [_parse_domain(reader, entry, i) for i, entry in enumerate(value)]
    if len(out.problems) > before:
        return None
    return tuple(d for d in domains if d is not None)


def _parse_domain(reader: _Reader, entry: object, index: int) -> Domain | None:
    raw_name = entry.get("name") if isinstance(entry, Mapping) else None
    where = f"{ACCOUNTS_KEY}[{raw_name if isinstance(raw_name, str) else index}]"
    values = reader.mapping(entry, where, "a mapping with `name`")
    if values is None:
        return None
    reader.known_keys(values, where, DOMAIN_KEYS)
    if "name" not in values:
        reader.problem(f"{where}.name", "missing", "name the domain, e.g. name: example.org")
        return None
    name = reader.domain(values["name"], f"{where}.name")
    alias_domains = reader.string_list(values.get("alias_domains"), f"{where}.alias_domains")
    aliased = [reader.domain(d, f"{where}.alias_domains[{i}]") for i, d in enumerate(alias_domains or [])]
    catch_all = reader.addresses(values.get("catch_all"), f"{where}.catch_all")
    if name is None or catch_all is None or None in aliased:
        return None
    own_domains = {name, *(cast(list[str], aliased))}
    mailboxes = _parse_list(reader, values.get("mailboxes"), f"{where}.mailboxes", "address",
                            lambda item, at: _parse_mailbox(reader, item, at, name, own_domains))
    aliases = _parse_list(reader, values.get("aliases"), f"{where}.aliases", "source",
                          lambda item, at: _parse_alias(reader, item, at, own_domains))
    if mailboxes is None or aliases is None:
        return None
    return Domain(name, tuple(cast(list[str], aliased)), tuple(catch_all), tuple(mailboxes), tuple(aliases))


def _parse_list(
    reader: _Reader, value: object, where: str, key: str,
    parse_item: Callable[[Mapping[str, Any], str], T | None],
) -> list[T] | None:
    if value is None:
        return []
    if not isinstance(value, list):
        reader.problem(where, f"expected a list, found {_kind(value)}", f"write a list of `- {key}: ...` entries")
        return None
    items: list[T] = []
    ok = True
    for i, item in enumerate(value):
        label = item.get(key) if isinstance(item, Mapping) else None
        at = f"{where}[{label if isinstance(label, str) else i}]"
        mapping = reader.mapping(item, at, f"a mapping with `{key}`")
        parsed = parse_item(mapping, at) if mapping is not None else None
        if parsed is None:
            ok = False
        else:
            items.append(parsed)
    return items if ok else None


def _parse_mailbox(
    reader: _Reader, values: Mapping[str, Any], where: str, domain: str, own_domains: set[str]
) -> Mailbox | None:
    reader.known_keys(values, where, MAILBOX_KEYS)
    address = reader.address(values.get("address"), f"{where}.address")
    ok = address is not None
    if address is not None and address.rpartition("@")[2] != domain:
        reader.problem(f"{where}.address", f"{address} is not in the domain {domain}",
                       f"list it under the domain {address.rpartition('@')[2]} (add that domain first)")
        ok = False
    password = values.get("password")
    if not isinstance(password, str) or scheme_of(password) is None:
        looks_plain = isinstance(password, str) and not password.startswith("{")
        reader.problem(f"{where}.password",
                       "a plaintext password" if looks_plain else "not a recognised password hash",
                       HASH_HELP)
        ok = False
    quota = values.get("quota")
    if quota is not None:
        quota = normalize_quota(quota)
        if quota is None or quota != str(values.get("quota")):
            fix = f"write {quota}" if quota else "write a size such as 500M or 2G, or leave it out for no limit"
            reader.problem(f"{where}.quota", f"{values.get('quota')!r} is not a quota as Dovecot writes it", fix)
            ok = False
    aliases = reader.addresses(values.get("aliases"), f"{where}.aliases")
    if aliases is None:
        return None
    ok = _check_own(reader, aliases, f"{where}.aliases", own_domains) and ok
    if not ok:
        return None
    return Mailbox(cast(str, address), cast(str, password), quota, tuple(aliases))


def _parse_alias(
    reader: _Reader, values: Mapping[str, Any], where: str, own_domains: set[str]
) -> Alias | None:
    reader.known_keys(values, where, ALIAS_KEYS)
    source = reader.address(values.get("source"), f"{where}.source")
    targets = reader.addresses(values.get("targets"), f"{where}.targets")
    if source is None or targets is None:
        return None
    if not targets:
        reader.problem(f"{where}.targets", "no targets", "list at least one address, or remove the alias")
        return None
    if not _check_own(reader, [source], f"{where}.source", own_domains):
        return None
    return Alias(source, tuple(dict.fromkeys(targets)))


def _check_own(reader: _Reader, addresses: list[str], where: str, own_domains: set[str]) -> bool:
    ok = True
    for address in addresses:
        if address.rpartition("@")[2] not in own_domains:
            reader.problem(where, f"{address} is not in this domain ({', '.join(sorted(own_domains))})",
                           "move it under the domain it belongs to")
            ok = False
    return ok
