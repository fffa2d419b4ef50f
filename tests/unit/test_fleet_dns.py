"""`mailprov dns` for a fleet: the MX set with the backup MX last, SRV at the fronts that serve
each protocol, no public record for a mailbox back end, the MTA-STS policy's mx list."""

from __future__ import annotations

from pathlib import Path

from fleet_inventory import GROUPS, write_fleet

from provisioner.dns import records
from provisioner.inventory.store import load_inventory
from provisioner.inventory.web import mta_sts_policy

SPLIT = {**GROUPS, "submission": ["mx2.example.org"], "backup_mx": ["store2.example.org"]}


def values(plan: records.DnsPlan, name: str, kind: str) -> list[str]:
    return [r.value for r in plan.records if r.name == name and r.type == kind]


def test_mx_records_put_the_backup_mx_last(inventory: Path) -> None:
    write_fleet(inventory)
    plan = records.plan(load_inventory(inventory))
    assert values(plan, "example.org.", "MX") == ["10 mx1.example.org.", "20 mx2.example.org."]
    assert values(plan, "example.net.", "MX") == ["10 mx1.example.org.", "20 mx2.example.org."]


def test_several_mx_hosts_share_the_first_priority(inventory: Path) -> None:
    write_fleet(inventory, groups={**GROUPS, "mx": ["mx1.example.org", "store1.example.org"]})
    plan = records.plan(load_inventory(inventory))
    assert values(plan, "example.org.", "MX") == ["10 mx1.example.org.", "10 store1.example.org.",
                                                  "20 mx2.example.org."]


def test_a_mailbox_back_end_gets_no_public_record(inventory: Path) -> None:
    write_fleet(inventory)
    plan = records.plan(load_inventory(inventory))
    addressed = {r.name for r in plan.records if r.type in ("A", "AAAA")}
    assert addressed == {"mx1.example.org.", "mx2.example.org."}
    assert not [r for r in plan.records if "store" in r.value or "store" in r.name]
    assert any(n.startswith("store1.example.org: a mailbox back end") for n in plan.notes)


def test_srv_names_the_front_of_each_protocol_and_spf_its_senders(inventory: Path) -> None:
    write_fleet(inventory, groups=SPLIT)
    plan = records.plan(load_inventory(inventory))
    assert values(plan, "_submission._tcp.example.org.", "SRV") == ["0 1 587 mx2.example.org."]
    assert values(plan, "_imaps._tcp.example.org.", "SRV") == ["0 1 993 mx1.example.org."]
    assert values(plan, "_pop3._tcp.example.org.", "SRV") == ["0 1 110 mx1.example.org."]
    # mx2 submits but is no MX: SPF names it; a backup MX sends nothing of its own.
    assert values(plan, "example.org.", "TXT") == ["v=spf1 mx a:mx2.example.org -all"]
    assert values(plan, "example.org.", "MX") == ["10 mx1.example.org.", "20 store2.example.org."]


def test_tlsa_only_where_port_25_answers(inventory: Path) -> None:
    write_fleet(inventory, groups=SPLIT)
    tlsa = {h: f"3 1 1 {n:064x}" for n, h in enumerate(
        ("mx1.example.org", "mx2.example.org", "store1.example.org", "store2.example.org"))}
    plan = records.plan(load_inventory(inventory), tlsa=tlsa)
    assert sorted(r.name for r in plan.records if r.type == "TLSA") == [
        "_25._tcp.mx1.example.org.", "_25._tcp.store2.example.org."]


def test_the_mta_sts_policy_lists_the_mx_and_backup_mx_hosts(inventory: Path) -> None:
    write_fleet(inventory, groups=SPLIT)
    loaded = load_inventory(inventory)
    assert loaded.mx_names() == ("mx1.example.org", "store2.example.org")
    assert "mx: mx1.example.org\nmx: store2.example.org\n" in mta_sts_policy(loaded)


def test_complete_servers_are_each_an_mx_at_10(inventory: Path) -> None:
    hosts = inventory / "hosts.yml"
    hosts.write_text(hosts.read_text() + "        mail2.example.org:\n          ansible_host: 203.0.113.11\n"
                     "          mail_hostname: mail2.example.org\n")
    loaded = load_inventory(inventory)
    plan = records.plan(loaded)
    assert values(plan, "example.org.", "MX") == ["10 mail.example.org.", "10 mail2.example.org."]
    assert values(plan, "_imap._tcp.example.org.", "SRV") == ["0 1 143 mail.example.org.",
                                                             "0 1 143 mail2.example.org."]
    assert loaded.mx_names() == ("mail.example.org", "mail2.example.org")
