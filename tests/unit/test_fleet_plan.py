"""What each host of a fleet is told (roles/mail_common's mailprov_fleet_plan) and the routing
tables mail_accounts writes from it: checked here without hosts, end to end in tests/fleet."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

ROLES = Path(__file__).resolve().parents[2] / "roles"
FUNCTIONS = ["mx", "submission", "proxy", "mailbox", "backup_mx"]
GROUPS = {"mx": ["front"], "submission": ["front"], "proxy": ["front"], "backup_mx": ["backup"],
          "mailbox": ["store1", "store2"]}
HOSTVARS: dict[str, dict[str, Any]] = {
    "front": {"mail_hostname": "front.example.org", "mail_fleet_address": "10.0.0.10"},
    "backup": {"mail_hostname": "backup.example.org", "ansible_host": "10.0.0.30"},
    "store1": {"mail_hostname": "store1.example.org", "mail_fleet_address": "10.0.0.20"},
    "store2": {"mail_hostname": "store2.example.org", "mail_fleet_address": "10.0.0.21"},
}
DOMAINS = [
    {"name": "one.test", "backend": "store1", "mailboxes": [{"address": "a@one.test", "password": "{X}h"}]},
    {"name": "two.test", "backend": "store2", "previous_backend": "store1", "alias_domains": ["zwei.test"],
     "mailboxes": [{"address": "b@two.test", "password": "{X}h"}]},
]


def plugin(role: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROLES / role / "filter_plugins" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plan(host: str, groups: dict[str, list[str]] = GROUPS) -> dict[str, Any]:
    result: dict[str, Any] = plugin("mail_common", "mailprov_fleet").fleet_plan(
        groups, HOSTVARS, host, DOMAINS, FUNCTIONS)
    return result


def tables(host: str) -> dict[str, str]:
    result: dict[str, str] = plugin("mail_accounts", "mailprov_accounts").account_tables(
        DOMAINS, "q=", plan(host))
    return result


def test_without_function_groups_every_host_is_complete_and_every_domain_local() -> None:
    complete = plan("front", {})
    assert complete["fleet"] is False and complete["functions"] == ["mx", "submission", "mailbox"]
    assert all(r["local"] for r in complete["routes"].values())


def test_the_front_routes_each_domain_to_its_backend_and_trusts_exactly_them() -> None:
    front = plan("front")
    assert front["routes"]["two.test"] == {"local": False, "backend": "store2", "address": "10.0.0.21",
                                           "name": "store2.example.org"}
    assert [t["host"] for t in front["trust"]] == ["store1", "store2"]
    assert front["backup_mx"] == ["10.0.0.30"]  # its mail is not judged again (smtpd_milter_maps)
    front_tables = tables("front")
    assert front_tables["fleet_transport"] == "one.test lmtp:inet:[10.0.0.20]:24\ntwo.test lmtp:inet:[10.0.0.21]:24\n"
    assert "[10.0.0.21]:24 secure match=store2.example.org" in front_tables["fleet_tls_policy"]
    assert "b@two.test:{X}h::::::proxy=y host=store2.example.org hostip=10.0.0.21 ssl=yes starttls=yes" \
        in front_tables["users"]


def test_a_backend_holds_its_own_and_its_departing_domains_only() -> None:
    store1, store2 = plan("store1"), plan("store2")
    assert store1["local_domains"] == ["one.test", "two.test"]  # two.test is moving away from it
    assert store2["local_domains"] == ["two.test"] and store2["trust"] == []
    assert store1["fronts"] == ["10.0.0.10"]  # the backup MX never talks to back ends
    assert "a@one.test" not in tables("store2")["users"]


def test_the_backup_mx_relays_every_domain_to_the_mx_fronts() -> None:
    backup = tables("backup")
    assert backup["fleet_transport"] == ("one.test relay:[10.0.0.10]:25\ntwo.test relay:[10.0.0.10]:25\n"
                                         "zwei.test relay:[10.0.0.10]:25\n")
    assert backup["fleet_tls_policy"] == "[10.0.0.10]:25 secure match=front.example.org\n"
    assert [t["host"] for t in plan("backup")["trust"]] == ["front"]
