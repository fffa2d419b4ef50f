"""Brute-force bans (roles/bans: fail2ban, nftables) on both releases, with real clients
inside each container's own network namespace: 127.0.0.2 plays the attacker, 127.0.0.1 the
server's users (never banned). The scenario's mail_bans: 3 failures, ban_time 20s, the
podman network ignored (the host's own tests use wrong passwords from there).

`mailprov bans list --json` and `mailprov bans unban` run for real against the container
(a throwaway inventory with the podman connection, as the DKIM tests do)."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SCENARIO, Server, token

from provisioner.cli.check import protection_checks
from provisioner.deployed.protection import protection

CLIENT = Path(__file__).with_name("ban_client.py")
ATTACKER, USER = "127.0.0.2", "127.0.0.1"
FAILURES = 3  # mail_bans.max_failures in group_vars
BAN_TIME = 20  # mail_bans.ban_time


def client(server: Server, *args: str) -> str:
    """ban_client.py run by the container's python3 (so inside its network namespace)."""
    result = subprocess.run(["podman", "exec", "-i", server.container, "python3", "-", *args],
                            input=CLIENT.read_text(encoding="utf-8"), capture_output=True, text=True,
                            timeout=180, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def reachable(server: Server, source: str) -> dict[str, bool]:
    return dict(json.loads(client(server, "probe", source)))


def banned(server: Server, jail: str) -> list[str]:
    out = server.host.check_output(f"fail2ban-client get {jail} banip")
    return out.split()


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(1)


@contextlib.contextmanager
def inventory(server: Server) -> Iterator[Path]:
    """A throwaway inventory: the scenario's group_vars, this container its one host (podman)."""
    folder = Path(tempfile.mkdtemp(prefix="mailprov-bans-inventory-"))
    try:
        shutil.copytree(SCENARIO / "group_vars", folder / "group_vars")
        (folder / "hosts.yml").write_text(
            f"all:\n  children:\n    mailservers:\n      hosts:\n        {server.container}:\n"
            "          ansible_connection: containers.podman.podman\n", encoding="utf-8")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def mailprov_bans(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `mailprov bans ...` against this container."""
    beside = Path(sys.executable).parent / "mailprov"
    with inventory(server) as folder:
        return subprocess.run([str(beside) if beside.exists() else "mailprov", "bans", *args, "-i", str(folder)],
                              capture_output=True, text=True, timeout=300, check=False)  # fmt: skip


@pytest.fixture(autouse=True)
def no_bans(server: Server) -> None:
    """Each test starts with nobody banned (a ban of an earlier test would still run)."""
    server.host.run(f"fail2ban-client unban {ATTACKER}")


def test_fail2ban_runs_the_jails_with_nftables(server: Server) -> None:
    assert server.host.service("fail2ban").is_running
    assert server.host.service("fail2ban").is_enabled
    status = server.host.check_output("fail2ban-client status")
    for jail in ("postfix-sasl", "dovecot"):
        assert jail in status
        assert server.host.check_output(f"fail2ban-client get {jail} maxretry") == str(FAILURES)
        ignored = server.host.check_output(f"fail2ban-client get {jail} ignoreip")
        assert "127.0.0.1" in ignored and "10.88.0.0/16" in ignored, ignored
        actions = server.host.check_output(f"fail2ban-client get {jail} actions")
        assert "nftables" in actions, actions
    # The scenario enables webmail: Roundcube's failed logins have their jail too.
    assert "roundcube-auth" in status


def test_imap_failures_ban_the_address_until_ban_time(server: Server) -> None:
    assert reachable(server, ATTACKER) == {"993": True, "587": True}
    client(server, "imap-fail", ATTACKER, str(FAILURES))
    wait_for(lambda: ATTACKER in banned(server, "dovecot"), 30, "the dovecot jail to ban 127.0.0.2")
    assert reachable(server, ATTACKER) == {"993": False, "587": False}
    # The server's own users are not affected: 127.0.0.1 still logs in and sends.
    assert json.loads(client(server, "use", USER, token("after-ban"))) == {"imap": "OK", "smtp": "accepted"}
    assert reachable(server, USER) == {"993": True, "587": True}
    # The ban ends by itself after ban_time.
    started = time.monotonic()
    wait_for(lambda: reachable(server, ATTACKER) == {"993": True, "587": True}, BAN_TIME + 40,
             "the ban to expire")
    assert time.monotonic() - started < BAN_TIME + 40


def test_webmail_failures_ban_the_address(server: Server) -> None:
    """Wrong passwords in Roundcube's login form (logged to /var/log/roundcube/errors.log with
    the client's address) ban it from every login port, webmail included."""
    client(server, "webmail-fail", ATTACKER, str(FAILURES))
    wait_for(lambda: ATTACKER in banned(server, "roundcube-auth"), 30, "the roundcube-auth jail to ban 127.0.0.2")
    assert reachable(server, ATTACKER) == {"993": False, "587": False}
    assert json.loads(client(server, "use", USER, token("after-webmail-ban"))) == {"imap": "OK", "smtp": "accepted"}


@pytest.fixture
def long_bans(server: Server) -> Iterator[None]:
    """postfix-sasl's bans last 10 minutes while the test runs (the Ansible runs of `mailprov
    bans` take longer than the scenario's 20 s); a runtime setting only, restored after."""
    server.host.run_expect([0], "fail2ban-client set postfix-sasl bantime 600")
    try:
        yield
    finally:
        server.host.run(f"fail2ban-client set postfix-sasl bantime {BAN_TIME}")


def test_smtp_auth_failures_ban_and_unban_lifts_it(server: Server, long_bans: None) -> None:
    client(server, "smtp-fail", ATTACKER, str(FAILURES))
    wait_for(lambda: ATTACKER in banned(server, "postfix-sasl"), 30, "the postfix-sasl jail to ban 127.0.0.2")
    assert reachable(server, ATTACKER) == {"993": False, "587": False}
    listed = mailprov_bans(server, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (host,) = json.loads(listed.stdout)["hosts"]
    assert {"postfix-sasl", "dovecot"} <= set(host["jails"])
    assert [b["address"] for b in host["bans"] if b["jail"] == "postfix-sasl"] == [ATTACKER]
    lifted = mailprov_bans(server, "unban", ATTACKER)
    assert lifted.returncode == 0, lifted.stderr
    assert f"{ATTACKER} unbanned" in lifted.stdout
    # Lifted at once, long before ban_time.
    assert reachable(server, ATTACKER) == {"993": True, "587": True}
    assert ATTACKER not in banned(server, "postfix-sasl")


def test_check_reads_the_jails_and_the_sending_limits(server: Server) -> None:
    """What `mailprov check` adds to its probes, read from this container by status.yml."""
    with inventory(server) as folder:
        read = protection(folder)
    bans, limits = protection_checks(server.container, read[server.container])
    assert bans.status == "pass" and "dovecot" in bans.detail and "postfix-sasl" in bans.detail, bans
    assert (limits.status, limits.detail) == ("pass", "100 messages an hour per user, 1 own limits"), limits
