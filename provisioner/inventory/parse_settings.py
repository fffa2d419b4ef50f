"""The hand-edited settings of group_vars (mail_hostname, mail_tls, mail_relay, mail_dmarc, ...)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from provisioner.inventory.dnsbl import parse_dnsbl
from provisioner.inventory.model import (
    DEFAULT_MESSAGE_SIZE_LIMIT,
    DMARC_POLICIES,
    MTA_STS_MAX_AGE_LIMIT,
    MTA_STS_MODES,
    TLS_MODES,
    Dkim,
    Dmarc,
    DmarcPolicy,
    Eab,
    Host,
    MtaSts,
    MtaStsMode,
    Relay,
    RelayTls,
    Settings,
    Spam,
    Tls,
    TlsMode,
)
from provisioner.inventory.parse import (
    DKIM_KEYS,
    DMARC_KEYS,
    EAB_KEYS,
    GROUP,
    MTA_STS_KEYS,
    RELAY_KEYS,
    SPAM_KEYS,
    TLS_KEYS,
    RawInventory,
)
from provisioner.inventory.parse_webmail import parse_webmail
from provisioner.inventory.protection import parse_protection
from provisioner.inventory.reader import CANONICAL_SIZE, Collector, Reader, closest, is_vault_value, parse_size
from provisioner.problems import shown
from provisioner.providers.relay_presets import DEFAULT_PORTS, PRESETS
from provisioner.providers.relay_presets import TLS_MODES as RELAY_TLS_MODES

T = TypeVar("T")

_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_MIN_MESSAGE_SIZE = 1024 * 1024
_MAX_MESSAGE_SIZE = 1024**3  # a message over 1G is no mail; Postfix keeps it in its queue


def parse_settings(
    raw: RawInventory, group_vars: Mapping[str, tuple[str, Any]], hosts: tuple[Host, ...],
    out: Collector,
) -> Settings | None:
    default_file = next(iter(raw.group_files), f"group_vars/{GROUP}/main.yml")
    hostname: str | None = ""
    if "mail_hostname" in group_vars:
        file, value = group_vars["mail_hostname"]
        hostname = Reader(file, out).domain(value, "mail_hostname")
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
    mta_sts = _parse_mta_sts(group_vars, out)
    protection = parse_protection(group_vars, out)  # mail_bans, mail_sending_limit
    webmail = parse_webmail(group_vars, out)
    if (parse_dnsbl(group_vars, out) is None or hostname is None or tls is None or size is None or not relay_ok
            or dmarc is None or dkim is None or spam is None or mta_sts is None or protection is None
            or webmail is None):
        return None
    return Settings(hostname, tls, size, relay, dmarc, dkim, spam, mta_sts, *protection, webmail=webmail)


def _section(
    group_vars: Mapping[str, tuple[str, Any]], key: str, what: str, allowed: tuple[str, ...], out: Collector
) -> tuple[Reader, Mapping[str, Any]] | None:
    """A setting that is a mapping (mail_tls, mail_relay...), its unknown keys reported; None
    (with a problem) when it is not a mapping."""
    file, value = group_vars[key]
    reader = Reader(file, out)
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
        reader.problem("mail_tls.mode", f"{shown(mode)} is not a TLS mode", f"use one of {', '.join(TLS_MODES)}")
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
    acme: dict[str, Any] = {}
    if mode == "acme":
        if reader.address(tls.get("email"), "mail_tls.email") is None:
            return None
        acme = _parse_acme(raw, reader, tls)
    if len(out.problems) > before:
        return None
    return Tls(cast(TlsMode, mode), tls.get("cert_file"), tls.get("key_file"), tls.get("email"), **acme)


def _parse_acme(raw: RawInventory, reader: Reader, tls: Mapping[str, Any]) -> dict[str, Any]:
    """server, ca_file, eab and extra_names of `mail_tls: {mode: acme}` (problems go to `reader`)."""
    server = tls.get("server")
    if server is not None and (not isinstance(server, str) or not server.startswith("https://")):
        reader.problem("mail_tls.server", f"{server!r} is not an https:// ACME directory URL",
                       "leave it out for Let's Encrypt, or give the CA's directory, e.g. "
                       "https://acme-staging-v02.api.letsencrypt.org/directory")
    ca_file = tls.get("ca_file")
    if ca_file is not None and (not isinstance(ca_file, str) or not (raw.root / ca_file).is_file()):
        reader.problem("mail_tls.ca_file", f"{ca_file!r} does not exist",
                       "give the CA's PEM file on this machine (relative paths start at the inventory folder)")
    eab = None
    if tls.get("eab") is not None:
        values = reader.mapping(tls["eab"], "mail_tls.eab", "a mapping with kid and hmac_key")
        if values is not None:
            reader.known_keys(values, "mail_tls.eab", EAB_KEYS)
            kid, hmac_key = values.get("kid"), values.get("hmac_key")
            if not isinstance(kid, str) or not kid:
                reader.problem("mail_tls.eab.kid", "missing", "give the key identifier your CA shows")
            if hmac_key is None or not is_vault_value(hmac_key):
                reader.problem("mail_tls.eab.hmac_key", "missing or in plaintext",
                               "put it in Ansible Vault and write hmac_key: \"{{ vault_mail_acme_eab_hmac_key }}\"")
            elif isinstance(kid, str) and kid:
                eab = Eab(kid, str(hmac_key))
    names = reader.string_list(tls.get("extra_names"), "mail_tls.extra_names") or []
    extra = [reader.domain(name, f"mail_tls.extra_names[{i}]") for i, name in enumerate(names)]
    return {"server": server, "ca_file": ca_file, "eab": eab,
            "extra_names": tuple(n for n in extra if n is not None)}


def _parse_message_size(group_vars: Mapping[str, tuple[str, Any]], out: Collector) -> int | None:
    if "mail_message_size_limit" not in group_vars:
        return DEFAULT_MESSAGE_SIZE_LIMIT
    file, value = group_vars["mail_message_size_limit"]
    size = parse_size(value)
    if size is not None and not isinstance(value, int) and not CANONICAL_SIZE.fullmatch(str(value)):
        size = None  # Ansible's human_to_bytes reads 50M, not 50m or 50 MB
    if size is None or size < _MIN_MESSAGE_SIZE:
        out.add(file, "mail_message_size_limit", f"{shown(value)} is not a size of at least 1M",
                "write bytes or a size with K, M or G, e.g. 50M")
        return None
    if size > _MAX_MESSAGE_SIZE:
        out.add(file, "mail_message_size_limit", f"{shown(value)} is more than the largest message size "
                "mailprov allows, 1G", "write a size of at most 1G, e.g. 50M")
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
        reader.problem("mail_relay.tls", f"{shown(tls)} is not a relay TLS mode",
                       "use starttls (port 587) or implicit (TLS from the first byte, port 465)")
        tls = "starttls"
    port = relay.get("port", DEFAULT_PORTS[str(tls)])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        reader.problem("mail_relay.port", f"{shown(port)} is not a port number", "use e.g. 587 or 465")
    elif port == 465 and tls == "starttls":
        reader.problem("mail_relay.tls", "port 465 speaks TLS from the first byte, not STARTTLS",
                       "write tls: implicit, or use port 587")
    provider = relay.get("provider")
    if provider is not None and provider not in PRESETS:
        hint = closest(str(provider), tuple(PRESETS))
        reader.problem("mail_relay.provider", f"{shown(provider)} is not a known provider",
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
    *, default: T, build: Callable[[Reader, Mapping[str, Any]], T | None],
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
    def build(reader: Reader, dmarc: Mapping[str, Any]) -> Dmarc:
        policy = dmarc.get("policy", "quarantine")
        if policy not in DMARC_POLICIES:
            reader.problem("mail_dmarc.policy", f"{shown(policy)} is not a DMARC policy",
                           f"use one of {', '.join(DMARC_POLICIES)}")
        rua = reader.addresses(dmarc["rua"], "mail_dmarc.rua") if "rua" in dmarc else None
        return Dmarc(cast(DmarcPolicy, policy), None if rua is None else tuple(rua))

    return _optional_section(group_vars, "mail_dmarc", "a mapping with policy and rua", DMARC_KEYS, out,
                             default=Dmarc(), build=build)


def _parse_dkim(group_vars: Mapping[str, tuple[str, Any]], out: Collector) -> Dkim | None:
    """`mail_dkim: {selector: mail}`: the selector the server signs with (a new one rotates the keys)."""
    def build(reader: Reader, dkim: Mapping[str, Any]) -> Dkim:
        selector = dkim.get("selector", Dkim.selector)
        if not isinstance(selector, str) or not _DNS_LABEL.fullmatch(selector):
            reader.problem("mail_dkim.selector", f"{shown(selector)} is not a DNS label",
                           "use lower-case letters, digits and inner hyphens, e.g. mail or mail2026")
        return Dkim(str(selector))
    return _optional_section(group_vars, "mail_dkim", "a mapping with selector", DKIM_KEYS, out,
                             default=Dkim(), build=build)


def _score(reader: Reader, values: Mapping[str, Any], key: str, default: float) -> float | None:
    value = values.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1000:
        reader.problem(f"mail_spam.{key}", f"{shown(value)} is not a positive score", f"use a number, e.g. {default:g}")
        return None
    return float(value)


def _parse_spam(group_vars: Mapping[str, tuple[str, Any]], out: Collector) -> Spam | None:
    """`mail_spam: {reject_score: 15, junk_score: 6, greylist: false}`: rspamd's thresholds."""
    def build(reader: Reader, spam: Mapping[str, Any]) -> Spam | None:
        reject = _score(reader, spam, "reject_score", Spam.reject_score)
        junk = _score(reader, spam, "junk_score", Spam.junk_score)
        if reject is not None and junk is not None and junk >= reject:
            reader.problem("mail_spam.junk_score", f"{junk:g} is not below reject_score {reject:g}",
                           "mail between the two goes into Junk: make junk_score the smaller")
        greylist = spam.get("greylist", False)
        if not isinstance(greylist, bool):
            reader.problem("mail_spam.greylist", f"{shown(greylist)} is not true or false",
                           "write greylist: true or false")
        return None if reject is None or junk is None else Spam(reject, junk, greylist)

    return _optional_section(group_vars, "mail_spam", "a mapping with reject_score, junk_score, greylist",
                             SPAM_KEYS, out, default=Spam(), build=build)


def _parse_mta_sts(group_vars: Mapping[str, tuple[str, Any]], out: Collector) -> MtaSts | None:
    """`mail_mta_sts: {mode: testing, max_age: 604800}`: the policy at mta-sts.DOMAIN."""
    def build(reader: Reader, policy: Mapping[str, Any]) -> MtaSts:
        mode = policy.get("mode", MtaSts.mode)
        if mode not in MTA_STS_MODES:
            reader.problem("mail_mta_sts.mode", f"{mode!r} is not an MTA-STS mode",
                           f"use one of {', '.join(MTA_STS_MODES)}")
        max_age = policy.get("max_age", MtaSts.max_age)
        if isinstance(max_age, bool) or not isinstance(max_age, int) or not 0 < max_age <= MTA_STS_MAX_AGE_LIMIT:
            reader.problem("mail_mta_sts.max_age", f"{max_age!r} is not a number of seconds up to a year",
                           "use e.g. 604800 (a week)")
        return MtaSts(cast(MtaStsMode, mode), int(max_age) if isinstance(max_age, int) else MtaSts.max_age)
    return _optional_section(group_vars, "mail_mta_sts", "a mapping with mode and max_age", MTA_STS_KEYS, out,
                             default=MtaSts(), build=build)
