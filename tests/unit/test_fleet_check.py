"""`mailprov check` on a fleet: each host is probed for what its functions serve, a mailbox
back end is read over SSH (Dovecot, LMTP), the round trip crosses hosts, every row names its
host. Nothing listens here: every connection goes to a closed port on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from fake_smtp import HOSTNAME, Script, closed_port, self_signed_context, serve
from fleet_inventory import HOSTS, write_fleet

from provisioner.cli import check as check_cli
from provisioner.cli.check import BACKEND_CHECKS, backend_checks, ssh_checks
from provisioner.deployed.protection import Protection, host_protection
from provisioner.deployed.reader import HostRead
from provisioner.inventory.ports import PUBLIC_PORTS
from provisioner.inventory.probe_account import Credentials
from provisioner.inventory.store import load_inventory
from provisioner.probe import checks as probe
from provisioner.probe.smtp import smtp_banner, submit

CREDS = Credentials("alice@example.org", "sup3r-secret")
SPLIT = {"mx": ["mx1.example.org"], "submission": ["mx2.example.org"], "proxy": ["mx1.example.org"],
         "mailbox": ["store1.example.org", "store2.example.org"]}


def local_fleet(inventory: Path, groups: dict[str, object] | None = None) -> int:
    """The docs' fleet with every service published on one closed port of 127.0.0.1."""
    port = closed_port()
    hosts = {name: {**values, "mailprov_probe_address": "127.0.0.1",
                    "mailprov_ports": dict.fromkeys(PUBLIC_PORTS, port)} for name, values in HOSTS.items()}
    write_fleet(inventory, hosts, groups)
    return port


def test_each_host_is_probed_for_what_its_functions_serve(inventory: Path) -> None:
    local_fleet(inventory)
    targets = {t.host: t.services for t in probe.targets(load_inventory(inventory), CREDS)}
    assert targets == {
        "mx1.example.org": {"smtp", "srs", "submission", "imap", "web"},
        "mx2.example.org": {"smtp", "web"},  # backup MX: port 25, the web face; no SRS, no logins
        "store1.example.org": frozenset(), "store2.example.org": frozenset()}


def test_complete_servers_are_probed_for_everything(inventory: Path) -> None:
    targets = probe.targets(load_inventory(inventory), CREDS)
    assert [(t.host, t.services, t.sent) for t in targets] == [("mail.example.org", probe.SERVICES, None)]
    assert probe.targets(load_inventory(inventory), CREDS, "mx") == []  # no function groups to name


def test_limit_takes_hosts_and_function_groups_and_senders_come_first(inventory: Path) -> None:
    local_fleet(inventory, SPLIT)
    loaded = load_inventory(inventory)
    assert [t.host for t in probe.targets(loaded, CREDS)] == [
        "mx2.example.org", "mx1.example.org", "store1.example.org", "store2.example.org"]
    assert [t.host for t in probe.targets(loaded, CREDS, "proxy")] == ["mx1.example.org"]
    assert [t.host for t in probe.targets(loaded, CREDS, "mailbox,mx2.example.org")] == [
        "mx2.example.org", "store1.example.org", "store2.example.org"]
    shared = {id(t.sent) for t in probe.targets(loaded, CREDS)}
    assert len(shared) == 1


def test_a_proxy_gets_the_login_rows_and_no_smtp_rows(inventory: Path) -> None:
    local_fleet(inventory, SPLIT)
    loaded = load_inventory(inventory)
    proxy = next(t for t in probe.targets(loaded, CREDS) if t.host == "mx1.example.org")
    proxy.services = frozenset({"imap"})
    rows = {c.name: c for c in probe.run_checks(proxy, inventory=loaded)}
    assert not [n for n in rows if "smtp" in n or "submission" in n or "https" in n]
    assert {n for n in rows if " :" in n} == {f"imap :{proxy.ports['imap']} STARTTLS",
                                              f"imaps :{proxy.ports['imaps']} TLS",
                                              f"pop3 :{proxy.ports['pop3']} STLS",
                                              f"pop3s :{proxy.ports['pop3s']} TLS",
                                              f"managesieve :{proxy.ports['managesieve']} STARTTLS"}
    read_back = rows[probe.ROUND_TRIP_CHECK]
    assert (read_back.status, read_back.detail) == (
        "skip", "nothing sent in this run: no submission host checked (see --limit)")
    assert all(c.host == "mx1.example.org" for c in rows.values())


def test_the_proxy_reads_back_what_the_submission_host_sent(tmp_path: Path) -> None:
    """The message tokens cross hosts: after a send on one target, the read-back on another
    is attempted (here it meets a closed port) instead of having nothing to look for."""
    sent: dict[str, float] = {}
    script = Script(rcpt_to="250 2.1.5 Ok", contexts=[self_signed_context(tmp_path)])
    with serve(script) as port:
        sender = probe.Target(HOSTNAME, "127.0.0.1", HOSTNAME, dict.fromkeys(PUBLIC_PORTS, port), False,
                              creds=CREDS, services=frozenset({"submission"}), sent=sent)
        smtp_banner(sender, "smtps", starttls=False)
        submit(sender, "smtps", sender.sent or sent)
    assert len(sent) == 1
    reader = probe.Target("proxy", "127.0.0.1", HOSTNAME, dict.fromkeys(PUBLIC_PORTS, closed_port()), False,
                          creds=CREDS, services=frozenset({"imap"}), sent=sent)
    rows = {c.name: c for c in probe.run_checks(reader)}
    assert rows[probe.ROUND_TRIP_CHECK].status == "fail"
    assert "connection refused" in rows[probe.ROUND_TRIP_CHECK].detail


def test_a_back_end_is_read_over_ssh() -> None:
    running = HostRead("store1", {"dovecot": {"rc": 0, "stdout": "active"}, "lmtp": {"rc": 0, "stdout": "2"}})
    read = host_protection(running)
    assert (read.dovecot, read.lmtp_listeners) == ("active", 2)
    assert [(c.host, c.name, c.status) for c in backend_checks("store1", read)] == [
        ("store1", "Dovecot running (ssh)", "pass"), ("store1", "LMTP listening :24 (ssh)", "pass")]
    stopped = host_protection(HostRead("store1", {"dovecot": {"rc": 3, "stdout": "inactive"},
                                                  "lmtp": {"rc": 0, "stdout": "0"}}))
    dovecot, lmtp = backend_checks("store1", stopped)
    assert (dovecot.status, dovecot.detail) == ("fail", "systemctl: inactive (deploy, or start dovecot)")
    assert lmtp.status == "fail" and "nothing listens on port 24" in lmtp.detail
    unreachable = backend_checks("store1", Protection("store1", error="unreachable: no route"))
    assert [(c.status, c.detail) for c in unreachable] == [("skip", "unreachable: no route")] * 2


def test_protections_are_read_where_users_log_in() -> None:
    def target(*services: str) -> probe.Target:
        return probe.Target("h", "127.0.0.1", "h", {}, False, services=frozenset(services))

    jails = Protection("h", jails=["postfix-sasl"], limits={"mailprov_user": 100})
    assert [c.name for c in ssh_checks(target("submission"), jails, True)] == [
        check_cli.BANS_CHECK, check_cli.LIMITS_CHECK]
    assert ssh_checks(target("submission"), jails, True)[0].status == "pass"
    proxy = ssh_checks(target("imap", "web"), jails, True)
    assert [(c.name, c.status, c.detail) for c in proxy] == [
        (check_cli.BANS_CHECK, "fail", "jails not loaded: dovecot")]
    assert ssh_checks(target("smtp", "web"), jails, True) == []
    assert [c.name for c in ssh_checks(target(), Protection("h", dovecot="active", lmtp_listeners=1), True)] == \
        list(BACKEND_CHECKS)


@pytest.fixture
def no_ssh(monkeypatch: pytest.MonkeyPatch) -> dict[str, Protection]:
    read: dict[str, Protection] = {}
    monkeypatch.setattr(check_cli, "read_protection", lambda *_: read)
    return read


def test_check_names_the_host_of_every_row(cli: Callable[..., Result], inventory: Path,
                                           no_ssh: dict[str, Protection]) -> None:
    local_fleet(inventory)
    no_ssh["store1.example.org"] = Protection("store1.example.org", dovecot="active", lmtp_listeners=1)
    no_ssh["store2.example.org"] = Protection("store2.example.org", dovecot="failed", lmtp_listeners=0)
    result = cli("check", "--no-login", "--json")
    assert result.exit_code == 1
    rows = json.loads(result.output)["checks"]
    by_host: dict[str, list[str]] = {}
    for row in rows:
        by_host.setdefault(row["host"], []).append(row["name"])
    assert by_host["store1.example.org"] == list(BACKEND_CHECKS)
    assert [r["status"] for r in rows if r["host"] == "store2.example.org"] == ["fail", "fail"]
    assert "SRS running (smtp)" in by_host["mx1.example.org"]
    assert "SRS running (smtp)" not in by_host["mx2.example.org"]
    assert not [n for n in by_host["mx2.example.org"] if "imap" in n or "submission" in n]
    skipped = json.loads(cli("check", "--no-login", "--no-ssh", "--json").output)["checks"]
    assert [(r["name"], r["status"], r["detail"]) for r in skipped if r["host"] == "store1.example.org"] == [
        (name, "skip", "--no-ssh: not read") for name in BACKEND_CHECKS]
    verdict = " ".join(cli("check", "--no-login").output.split())
    assert "store1.example.org (mailbox back end, read over SSH)" in verdict
    assert "failed: mx1.example.org: smtp :" in verdict  # the verdict names host and check
    assert "store2.example.org: Dovecot running (ssh), store2.example.org: LMTP listening :24 (ssh)" in verdict
