"""The fleet in the inventory model (docs/fleet.md): function groups, fleet addresses, each
domain's back end; every rule shown failing with FILE: FIELD: problem (fix)."""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import Result
from fleet_inventory import DOMAINS, GROUPS, HOSTS, write_fleet

from provisioner.inventory import fleet
from provisioner.inventory.model import COMPLETE, FACING, FUNCTIONS
from provisioner.inventory.store import load_inventory
from provisioner.problems import InventoryInvalid
from provisioner.resources import resource_path


def problems(inventory: Path) -> list[str]:
    with pytest.raises(InventoryInvalid) as caught:
        load_inventory(inventory)
    return [str(p) for p in caught.value.problems]


def only_problem(inventory: Path) -> str:
    found = problems(inventory)
    assert len(found) == 1, found
    return found[0]


def hosts_with(**changes: dict[str, object] | None) -> dict[str, dict[str, object]]:
    hosts = copy.deepcopy(HOSTS)
    for name, values in changes.items():
        host = name.replace("_", ".") + ".example.org"
        if values is None:
            del hosts[host]
        else:
            hosts[host] = values
    return hosts


def test_the_docs_fleet_loads_with_each_hosts_functions(inventory: Path) -> None:
    write_fleet(inventory)
    loaded = load_inventory(inventory)
    assert loaded.is_fleet
    assert loaded.summary() == ("4 hosts, 2 domains, 1 mailbox, 0 aliases; "
                                "a fleet: mx 1, submission 1, proxy 1, mailbox 2, backup_mx 1")
    functions = {h.name: h.functions for h in loaded.hosts}
    assert functions == {"mx1.example.org": ("mx", "submission", "proxy"), "mx2.example.org": ("backup_mx",),
                         "store1.example.org": ("mailbox",), "store2.example.org": ("mailbox",)}
    assert [h.faces_internet for h in loaded.hosts] == [True, True, False, False]
    backends = {d.name: loaded.backend_of(d) for d in loaded.domains}
    assert {n: h.name if h else None for n, h in backends.items()} == {
        "example.org": "store1.example.org", "example.net": "store2.example.org"}


def test_an_inventory_without_function_groups_is_complete_servers(inventory: Path) -> None:
    loaded = load_inventory(inventory)
    assert not loaded.is_fleet
    assert loaded.hosts[0].functions == COMPLETE == ("mx", "submission", "mailbox")
    assert loaded.backend_of(loaded.domains[0]) is None


def test_with_one_mailbox_host_every_domain_is_on_it(inventory: Path) -> None:
    hosts = hosts_with(store2=None)
    groups = {**GROUPS, "mailbox": ["store1.example.org"]}
    write_fleet(inventory, hosts, groups, [{"name": "example.org"}, {"name": "example.net"}])
    loaded = load_inventory(inventory)
    assert {d.name: getattr(loaded.backend_of(d), "name", None) for d in loaded.domains} == {
        "example.org": "store1.example.org", "example.net": "store1.example.org"}


def test_an_unknown_function_group_names_the_known_ones(inventory: Path) -> None:
    write_fleet(inventory, groups={**GROUPS, "imap": ["mx1.example.org"]})
    assert only_problem(inventory).endswith(
        "hosts.yml: mailservers.children.imap: unknown function group "
        "(the function groups are mx, submission, proxy, mailbox, backup_mx (docs/fleet.md))")


def test_a_group_lists_only_hosts_of_mailservers_without_variables(inventory: Path) -> None:
    groups = {**GROUPS, "proxy": {"hosts": {"mx1.example.org": None, "mx9.example.org": None}},
              "backup_mx": {"hosts": {"mx2.example.org": {"ansible_port": 2222}}}}
    write_fleet(inventory, groups=groups)
    found = problems(inventory)
    assert any("mailservers.children.proxy.hosts.mx9.example.org: not a host of mailservers.hosts (add it "
               "under mailservers.hosts" in p for p in found), found
    assert any("mailservers.children.backup_mx.hosts.mx2.example.org: host variables in a function group "
               "(move them to mailservers.hosts.mx2.example.org" in p for p in found), found


def test_a_function_group_takes_only_hosts(inventory: Path) -> None:
    write_fleet(inventory, groups={**GROUPS, "mx": {"hosts": {"mx1.example.org": None}, "vars": {"a": 1}}})
    assert "mailservers.children.mx.vars: unknown key" in only_problem(inventory)


def test_a_function_group_beside_mailservers_is_refused(inventory: Path) -> None:
    write_fleet(inventory)
    document = yaml.safe_load((inventory / "hosts.yml").read_text())
    document["all"]["children"]["mx"] = {"hosts": {"mx1.example.org": None}}
    (inventory / "hosts.yml").write_text(yaml.safe_dump(document))
    assert only_problem(inventory).endswith(
        "all.children.mx: a function group outside the mail server group "
        "(move it under all.children.mailservers.children)")


def test_every_host_needs_a_function_and_every_function_a_host(inventory: Path) -> None:
    write_fleet(inventory, groups={**GROUPS, "proxy": [], "backup_mx": []})
    found = problems(inventory)
    assert any(p.endswith("mailservers.hosts.mx2.example.org: in no function group (list it under one of "
                          "mailservers.children.{mx,submission,proxy,mailbox,backup_mx}, or remove it)")
               for p in found), found
    assert any(p.endswith("mailservers.children.proxy: no host (a fleet needs at least one host there: list one under proxy)")
               for p in found), found
    assert len(found) == 2, found


def test_mx_and_backup_mx_exclude_each_other(inventory: Path) -> None:
    write_fleet(inventory, groups={**GROUPS, "backup_mx": ["mx1.example.org", "mx2.example.org"]})
    assert only_problem(inventory).endswith(
        "mailservers.hosts.mx1.example.org: in both mx and backup_mx "
        "(keep it in one: a backup MX hands its mail to the mx hosts)")


def test_the_fleet_address_is_an_ip_address(inventory: Path) -> None:
    hosts = hosts_with(mx1={**HOSTS["mx1.example.org"], "mail_fleet_address": "mx1.internal"})
    write_fleet(inventory, hosts)
    assert only_problem(inventory).endswith(
        "mailservers.hosts.mx1.example.org.mail_fleet_address: 'mx1.internal' is not an IP address "
        "(write the address the other hosts of the fleet reach it at, e.g. 10.0.0.10)")


def test_without_a_fleet_address_ansible_host_must_be_an_ip(inventory: Path) -> None:
    hosts = hosts_with(store1={"ansible_host": "store1.internal", "mail_hostname": "store1.example.org"})
    write_fleet(inventory, hosts)
    assert only_problem(inventory).endswith(
        "mailservers.hosts.store1.example.org.mail_fleet_address: missing, and ansible_host "
        "'store1.internal' is not an IP address (set mail_fleet_address: the IP address the other "
        "hosts of the fleet reach it at)")
    write_fleet(inventory, hosts_with(store1={**hosts["store1.example.org"], "mail_fleet_address": "10.0.0.20"}))
    assert load_inventory(inventory).is_fleet


def test_each_host_of_a_fleet_has_its_own_mail_hostname(inventory: Path) -> None:
    hosts = hosts_with(store2={**HOSTS["store2.example.org"], "mail_hostname": "store1.example.org"})
    write_fleet(inventory, hosts)
    assert only_problem(inventory).endswith(
        "mailservers.hosts.store2.example.org.mail_hostname: store1.example.org is also "
        "store1.example.org's (give each host of a fleet its own mail_hostname (its certificate's name))")


def test_a_backend_is_a_mailbox_host(inventory: Path) -> None:
    write_fleet(inventory, domains=[{**DOMAINS[0], "backend": "mx1.example.org"}, DOMAINS[1]])
    assert only_problem(inventory).endswith(
        "accounts.yml: mail_domains[example.org].backend: 'mx1.example.org' is not a host of the "
        "mailbox group (write one of store1.example.org, store2.example.org)")


def test_a_backend_is_needed_with_several_mailbox_hosts(inventory: Path) -> None:
    write_fleet(inventory, domains=[DOMAINS[0], {"name": "example.net"}])
    assert only_problem(inventory).endswith(
        "mail_domains[example.net].backend: missing: 2 mailbox hosts could hold it "
        "(add backend: one of store1.example.org, store2.example.org)")


def test_previous_backend_is_another_mailbox_host(inventory: Path) -> None:
    moving = {**DOMAINS[1], "previous_backend": "store1.example.org"}
    write_fleet(inventory, domains=[DOMAINS[0], moving])
    assert load_inventory(inventory).domains[1].previous_backend == "store1.example.org"
    write_fleet(inventory, domains=[DOMAINS[0], {**moving, "previous_backend": "store2.example.org"}])
    assert only_problem(inventory).endswith(
        "mail_domains[example.net].previous_backend: the same host as its backend (store2.example.org) "
        "(name the back end the domain moves from, or remove it once the move is done)")
    write_fleet(inventory, domains=[DOMAINS[0], {**moving, "previous_backend": 7}])
    assert "mail_domains[example.net].previous_backend: expected a host name, found a number" in \
        only_problem(inventory)


def test_backend_without_function_groups_is_refused(inventory: Path) -> None:
    accounts = inventory / "group_vars/mailservers/accounts.yml"
    accounts.write_text(accounts.read_text().replace(
        "  - name: example.org\n", "  - name: example.org\n    backend: mail.example.org\n"
        "    previous_backend: mail.example.org\n"))
    found = problems(inventory)
    assert len(found) == 2, found
    assert found[0].endswith(
        "mail_domains[example.org].backend: a fleet's setting, and the hosts are in no function group "
        "(remove it (every host holds every domain), or sort the hosts into function groups (docs/fleet.md))")


def test_python_and_the_roles_know_the_same_function_groups() -> None:
    defaults = yaml.safe_load((resource_path("roles") / "mail_common/vars/main.yml").read_text())
    assert tuple(defaults["mail_common_functions"]) == FUNCTIONS == fleet.FUNCTIONS


def test_the_roles_agree_on_complete_servers_and_on_the_hosts_facing_the_internet() -> None:
    path = resource_path("roles") / "mail_common/filter_plugins/mailprov_fleet.py"
    spec = importlib.util.spec_from_file_location("mailprov_fleet_plugin", path)
    assert spec is not None and spec.loader is not None
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    assert plugin.COMPLETE == COMPLETE
    defaults = yaml.safe_load((resource_path("roles") / "mail_common/vars/main.yml").read_text())
    assert f"else {list(COMPLETE)} }}}}" in defaults["mail_common_host_functions"]
    assert f"intersect({list(FACING)})" in defaults["mail_common_faces_internet"]


def test_validate_reports_a_broken_fleet_with_exit_2(inventory: Path, cli: Callable[..., Result]) -> None:
    write_fleet(inventory, groups={**GROUPS, "imap": ["mx1.example.org"], "mx": []},
                domains=[{"name": "example.org", "backend": "nowhere"}])
    before = {p: p.read_bytes() for p in inventory.rglob("*.yml")}
    result = cli("validate")
    assert result.exit_code == 2
    assert "hosts.yml: mailservers.children.imap: unknown function group" in result.output
    assert "hosts.yml: mailservers.children.mx: no host (a fleet needs at least one host there: list one under mx)" in result.output
    assert "accounts.yml: mail_domains[example.org].backend: 'nowhere' is not a host of the mailbox group" \
        in result.output
    assert "Traceback" not in result.output
    assert {p: p.read_bytes() for p in inventory.rglob("*.yml")} == before
