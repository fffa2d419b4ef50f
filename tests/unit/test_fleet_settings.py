"""`mailprov settings` in a fleet names its fronts: the proxy for IMAP and POP3, the
submission host for SMTP (never a mailbox back end, which clients cannot reach)."""

from __future__ import annotations

from pathlib import Path

from fleet_inventory import GROUPS, HOSTS, write_fleet

from provisioner.inventory.store import load_inventory
from provisioner.probe.client_settings import client_settings

SPLIT = {**GROUPS, "submission": ["mx2.example.org"], "backup_mx": []}


def test_settings_name_the_proxy_and_the_submission_host(inventory: Path) -> None:
    write_fleet(inventory, groups=SPLIT)
    found = client_settings(load_inventory(inventory), "alice@example.org")
    assert {(s.protocol, s.hostname, s.port) for s in found.incoming} == {
        ("imap", "mx1.example.org", 993), ("pop3", "mx1.example.org", 995)}
    assert {(s.protocol, s.hostname, s.port) for s in found.outgoing} == {
        ("smtp", "mx2.example.org", 465), ("smtp", "mx2.example.org", 587)}


def test_a_front_published_elsewhere_gives_its_address_and_ports(inventory: Path) -> None:
    hosts = {**HOSTS, "mx2.example.org": {**HOSTS["mx2.example.org"], "mailprov_probe_address": "127.0.0.1",
                                          "mailprov_ports": {"submission": 14587, "smtps": 14465}}}
    write_fleet(inventory, hosts, SPLIT)
    found = client_settings(load_inventory(inventory), "alice@example.org")
    assert {(s.hostname, s.port) for s in found.outgoing} == {("127.0.0.1", 14465), ("127.0.0.1", 14587)}
    assert {s.hostname for s in found.incoming} == {"mx1.example.org"}


def test_complete_servers_keep_the_group_hostname(inventory: Path) -> None:
    found = client_settings(load_inventory(inventory), "postmaster@example.org")
    assert {s.hostname for s in found.incoming + found.outgoing} == {"mail.example.org"}
