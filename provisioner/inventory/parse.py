"""Turn the raw YAML documents of an inventory into the typed model: the files, hosts.yml and the
group variables. Settings and accounts have modules of their own (parse_settings, parse_accounts);
rules that need the whole inventory live in consistency.py.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, cast

from provisioner.inventory.model import FUNCTIONS, Host
from provisioner.inventory.ports import ADDRESS_VAR, PORTS_VAR, PUBLIC_PORTS
from provisioner.inventory.reader import Collector, Reader, closest, kind
from provisioner.inventory.releases import RELEASES
from provisioner.inventory.role_vars import role_for, settable
from provisioner.problems import shown

GROUP = "mailservers"
SETTINGS_KEYS = {
    "mail_hostname", "mail_tls", "mail_message_size_limit", "mail_relay", "mail_dmarc", "mail_dkim", "mail_spam",
    "mail_mta_sts", "mail_bans", "mail_sending_limit", "mail_dnsbl", "mail_webmail", "mail_backup",
}
ACCOUNTS_KEY = "mail_domains"
# Variables meant for Ansible itself, for a vault or for mailprov's tools are not ours to check.
# A role's variables (its folder name as prefix) are checked against the role: role_vars.py.
PASSTHROUGH_PREFIXES = ("ansible_", "vault_", "mailprov_")
RELEASE_VAR = "mailprov_release"  # the Debian release `rehearse` stands the host up on
RELEASE_VALUES = RELEASES
GROUP_KEYS = ("hosts", "vars", "children")  # what Ansible reads in a group of hosts.yml
FLEET_ADDRESS_VAR = "mail_fleet_address"  # where the other hosts of a fleet reach this one
HOST_KEYS = {"mail_hostname", PORTS_VAR, ADDRESS_VAR, RELEASE_VAR, FLEET_ADDRESS_VAR}
FUNCTION_GROUP_KEYS = ("hosts",)  # a function group only lists names (docs/fleet.md)
DOMAIN_KEYS = ("name", "alias_domains", "catch_all", "mailboxes", "aliases", "backend", "previous_backend")
MAILBOX_KEYS = ("address", "password", "quota", "aliases", "sending_limit")
ALIAS_KEYS = ("source", "targets")
TLS_KEYS = ("mode", "cert_file", "key_file", "email", "server", "ca_file", "eab", "extra_names")
EAB_KEYS = ("kid", "hmac_key")
MTA_STS_KEYS = ("mode", "max_age")
RELAY_KEYS = ("host", "port", "username", "password", "provider", "tls", "sender_domains")
DMARC_KEYS = ("policy", "rua")
DKIM_KEYS = ("selector",)
SPAM_KEYS = ("reject_score", "junk_score", "greylist")
BACKUP_KEYS = ("repository", "password", "schedule", "keep", "env")
BACKUP_KEEP_KEYS = ("daily", "weekly", "monthly")


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


# --- hosts.yml ----------------------------------------------------------------------------

class ParsedHosts(NamedTuple):
    hosts: tuple[Host, ...]
    is_fleet: bool = False  # some function group lists a host


def parse_hosts(raw: RawInventory, out: Collector) -> ParsedHosts:
    reader = Reader(raw.hosts_file, out)
    fix = f"list the servers under all.children.{GROUP}.hosts"
    top = reader.mapping(raw.hosts, "(top level)", "a mapping")
    if top is None:
        return ParsedHosts(())
    group = _find_group(top)
    if group is None:
        reader.problem(f"all.children.{GROUP}", "the mail server group is missing", fix)
        return ParsedHosts(())
    reader.known_keys(group, GROUP, GROUP_KEYS)
    _misplaced_functions(reader, top)
    hosts = reader.mapping(group.get("hosts"), f"{GROUP}.hosts", "a mapping of host names")
    if not hosts:
        if hosts is not None:
            reader.problem(f"{GROUP}.hosts", "no hosts", fix)
        return ParsedHosts(())
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
        if FLEET_ADDRESS_VAR in values and not is_ip(values[FLEET_ADDRESS_VAR]):
            reader.problem(f"{where}.{FLEET_ADDRESS_VAR}", f"{shown(values[FLEET_ADDRESS_VAR])} is not an IP address",
                           "write the address the other hosts of the fleet reach it at, e.g. 10.0.0.10")
        check_connection_vars(reader, values, where)
        if RELEASE_VAR in values and values[RELEASE_VAR] not in RELEASE_VALUES:
            reader.problem(f"{where}.{RELEASE_VAR}", f"{shown(values[RELEASE_VAR])} is not a supported release",
                           f"write one of {', '.join(RELEASE_VALUES)}")
        parsed.append(Host(str(name), dict(values)))
    members = _parse_functions(reader, group, [h.name for h in parsed])
    if not any(members.values()):
        return ParsedHosts(tuple(parsed))
    return ParsedHosts(tuple(Host(h.name, h.vars, tuple(f for f in FUNCTIONS if h.name in members[f]))
                             for h in parsed), True)


def _parse_functions(reader: Reader, group: Mapping[str, Any], names: list[str]) -> dict[str, list[str]]:
    """The function groups, children of mailservers: function -> the host names it lists."""
    members: dict[str, list[str]] = {f: [] for f in FUNCTIONS}
    children = reader.mapping(group.get("children"), f"{GROUP}.children", "a mapping of function groups")
    for child, body in (children or {}).items():
        where = f"{GROUP}.children.{child}"
        if child not in FUNCTIONS:
            reader.problem(where, "unknown function group",
                           f"the function groups are {', '.join(FUNCTIONS)} (docs/fleet.md)")
            continue
        values = reader.mapping(body, where, "a mapping with `hosts`")
        reader.known_keys(values or {}, where, FUNCTION_GROUP_KEYS)
        listed = reader.mapping((values or {}).get("hosts"), f"{where}.hosts", "a mapping of host names")
        for host, host_vars in (listed or {}).items():
            if str(host) not in names:
                reader.problem(f"{where}.hosts.{host}", f"not a host of {GROUP}.hosts",
                               f"add it under {GROUP}.hosts with its variables, or fix the name "
                               f"({', '.join(names)})")
            elif host_vars not in (None, {}):
                reader.problem(f"{where}.hosts.{host}", "host variables in a function group",
                               f"move them to {GROUP}.hosts.{host} and leave `{host}:` here empty")
            else:
                members[child].append(str(host))
    return members


def _misplaced_functions(reader: Reader, top: Mapping[str, Any]) -> None:
    """A function group beside mailservers instead of under it: Ansible would still put its
    hosts in the group, but mailprov would not see them as a fleet."""
    every = top.get("all")
    children = every.get("children") if isinstance(every, Mapping) else None
    places = [("", top), ("all.children.", children if isinstance(children, Mapping) else {})]
    for prefix, groups in places:
        for name in FUNCTIONS:
            if name in groups:
                reader.problem(f"{prefix}{name}", "a function group outside the mail server group",
                               f"move it under all.children.{GROUP}.children")


def is_ip(value: object) -> bool:
    """An IPv4 or IPv6 address literal (no name, no network)."""
    try:
        ipaddress.ip_address(str(value) if isinstance(value, str) else "")
    except ValueError:
        return False
    return True


def _check_host_ports(reader: Reader, values: Mapping[str, Any], where: str) -> None:
    """Where a host's services are published, when not on the standard ports (the sandbox)."""
    address = values.get(ADDRESS_VAR)
    if ADDRESS_VAR in values and (not isinstance(address, str) or not address.strip()):
        reader.problem(f"{where}.{ADDRESS_VAR}", "expected an address or host name",
                       "write e.g. 127.0.0.1, or remove it to use ansible_host")
    ports = reader.mapping(values.get(PORTS_VAR), f"{where}.{PORTS_VAR}", "a mapping of service: port")
    reader.known_keys(ports or {}, f"{where}.{PORTS_VAR}", tuple(PUBLIC_PORTS))
    for service, port in (ports or {}).items():
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            reader.problem(f"{where}.{PORTS_VAR}.{service}", f"{shown(port)} is not a port number",
                           f"write the published port, e.g. {PUBLIC_PORTS.get(str(service), 25)}")


def check_connection_vars(reader: Reader, values: Mapping[str, Any], where: str) -> None:
    """ansible_host and ansible_user are text (a name, an address, a vault reference), ansible_port
    a port: Ansible would fail late, or connect somewhere else, on a mapping, a list or yes/no."""
    prefix = f"{where}." if where else ""
    for key in ("ansible_host", "ansible_user"):
        value = values.get(key)
        if key in values and (not isinstance(value, str) or not value.strip() or value != value.strip()):
            reader.problem(f"{prefix}{key}", f"expected a name without spaces around it, found {kind(value)}",
                           "write e.g. ansible_host: 203.0.113.10 or ansible_user: root")
    port = values.get("ansible_port")
    if "ansible_port" in values and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
        reader.problem(f"{prefix}ansible_port", f"{shown(port)} is not a port number", "write e.g. 22")


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
        reader = Reader(file, out)
        values = reader.mapping(data, "(top level)", "a mapping of variables")
        for key, value in (values or {}).items():
            name = str(key)
            if name in merged:
                reader.problem(name, f"also defined in {merged[name][0]}",
                               "keep the variable in one file only")
                continue
            _check_name(reader, name)
            check_connection_vars(reader, {name: value}, "")
            merged[name] = (file, value)
    return merged


def _check_name(reader: Reader, name: str) -> None:
    """A group variable is one of our settings, passed through, or one a role lets an operator set."""
    if name in SETTINGS_KEYS or name == ACCOUNTS_KEY or name.startswith(PASSTHROUGH_PREFIXES):
        return
    role = role_for(name)
    if role is not None and name in role.defaults:
        return
    if role is not None and name in role.internal:
        reader.problem(name, f"computed by the {role.name} role, not a setting",
                       "remove it (the role derives it from the mail_* settings, or fixes it itself)")
        return
    hint = closest(name, tuple(sorted(SETTINGS_KEYS | {ACCOUNTS_KEY})) + settable())
    fix = f"did you mean {hint!r}?" if hint else (
        f"the {role.name} role's settings are in roles/{role.name}/defaults/main.yml (docs/roles.md)"
        if role is not None else "remove it or fix the name")
    reader.problem(name, "unknown setting", fix)
