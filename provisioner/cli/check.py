"""`mailprov check`: probe every host from outside like a mail client, and print what answered."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from provisioner.backup.freshness import backup_checks
from provisioner.cli import completion
from provisioner.cli.common import (
    EXIT_FAILED,
    fail,
    inventory_option,
    json_option,
    load_or_exit,
    print_json,
    read_password,
)
from provisioner.cli.tables import FitTable
from provisioner.deployed.protection import Protection
from provisioner.deployed.protection import protection as read_protection
from provisioner.inventory.model import Inventory
from provisioner.inventory.probe_account import Credentials, ProbeAccountError
from provisioner.inventory.probe_account import load as load_probe_account
from provisioner.inventory.vault import VaultFileError
from provisioner.probe import checks as probe

BANS_CHECK = "brute-force bans (fail2ban)"
LIMITS_CHECK = "sending limits (rspamd)"
DOVECOT_CHECK = "Dovecot running (ssh)"
LMTP_CHECK = "LMTP listening :24 (ssh)"
BACKEND_CHECKS = (DOVECOT_CHECK, LMTP_CHECK)


@click.command()
@inventory_option
@json_option
@click.option("-l", "--limit", metavar="HOSTS", shell_complete=completion.hosts,
              help="Only these hosts (comma-separated names).")
@click.option("--user", metavar="ADDRESS", shell_complete=completion.mailboxes,
              help="Log in as this mailbox (default: the probe account).")
@click.option("--password-stdin", is_flag=True, help="Read --user's password from standard input.")
@click.option(
    "--no-login", is_flag=True, help="Skip the login checks (sending and reading mail) on purpose."
)
@click.option("--no-ssh", is_flag=True,
              help="Skip the checks read over SSH (fail2ban's jails, the sending limits).")
def check(
    *, inventory_dir: Path, as_json: bool, limit: str | None, user: str | None, password_stdin: bool, no_login: bool,
    no_ssh: bool,
) -> None:
    """Probe every host from outside like a mail client; exit 1 if any check fails.

    Without an account (--user, or the inventory's probe account) the login
    checks fail, unless --no-login says to skip them.
    """
    inventory = load_or_exit(inventory_dir)
    creds = _login_account(inventory_dir, user, password_stdin, no_login)
    hosts = probe.targets(inventory, creds, limit, login=not no_login)
    if not hosts:
        fail(f"no host matches --limit {limit}")
    console = Console(stderr=as_json)
    results = run_probes(console, hosts, inventory)
    if not no_ssh:
        with console.status("reading the protections over SSH (read-only)"):
            read = read_protection(inventory_dir, limit)
        results += [c for target in hosts for c in ssh_checks(target, read.get(target.host), inventory.is_fleet)]
    elif inventory.is_fleet:  # a back end's only rows are read over SSH: say they were not
        results += [probe.Check(t.host, name, "skip", "--no-ssh: not read")
                    for t in hosts if not t.services for name in BACKEND_CHECKS]
    if as_json:
        print_json(checks_summary(results))
    else:
        print_tables(console, hosts, results)
        login_note(console, no_login=no_login, has_account=creds is not None)
        console.print(verdict(results))
    sys.exit(EXIT_FAILED if any(not c.ok for c in results) else 0)


def run_probes(console: Console, hosts: list[probe.Target], inventory: Inventory) -> list[probe.Check]:
    """Every check of every host, with a spinner on a terminal."""
    results: list[probe.Check] = []
    for target in hosts:
        if not target.services:
            continue  # a mailbox back end answers the fleet only: read over SSH (ssh_checks)
        with console.status(f"checking {target.host} at {target.address}") as status:
            results += probe.run_checks(target, lambda c: status.update(f"{c.host}: {c.name}"), inventory)
    if inventory.settings.backup is not None:  # the last success, read over SSH (status.yml)
        with console.status("reading the backup records"):
            wanted = {t.host for t in hosts}
            results += [c for c in backup_checks(inventory, ",".join(sorted(wanted))) if c.host in wanted]
    return results


def ssh_checks(target: probe.Target, read: Protection | None, fleet: bool) -> list[probe.Check]:
    """What is read over SSH: the protections of a complete server; in a fleet those of the
    hosts users log in to (fail2ban's jails for the logins it serves, the sending limits where
    mail is submitted), and on a mailbox back end that Dovecot and its LMTP listener run."""
    if not fleet:
        return protection_checks(target.host, read)
    if not target.services:
        return backend_checks(target.host, read)
    jails = (("postfix-sasl",) if "submission" in target.services else ()) + (
        ("dovecot",) if "imap" in target.services else ())
    if not jails:
        return []
    rows = protection_checks(target.host, read, jails)
    return rows if "submission" in target.services else rows[:1]


def backend_checks(host: str, read: Protection | None) -> list[probe.Check]:
    """A mailbox back end, read on the host itself: Dovecot active, LMTP listening on 24."""
    if read is None or (read.error and read.dovecot is None and read.lmtp_listeners is None):
        why = read.error if read is not None and read.error else "not read over SSH"
        return [probe.Check(host, name, "skip", why) for name in BACKEND_CHECKS]
    dovecot = probe.Check(host, DOVECOT_CHECK, "pass" if read.dovecot == "active" else "fail",
                          f"systemctl: {read.dovecot or 'no answer'}" + (
                              "" if read.dovecot == "active" else " (deploy, or start dovecot)"))
    listening = bool(read.lmtp_listeners)
    lmtp = probe.Check(host, LMTP_CHECK, "pass" if listening else "fail",
                       f"{read.lmtp_listeners} listening socket(s)" if listening
                       else "nothing listens on port 24: the fronts cannot deliver (deploy, or start dovecot)")
    return [dovecot, lmtp]


def protection_checks(host: str, read: Protection | None,
                      jails: tuple[str, ...] | None = None) -> list[probe.Check]:
    """fail2ban's jails loaded and rspamd's sending limits configured (issue 13), as the
    read-only status play found them; skipped when the host could not be read."""
    if read is None or (read.error and read.jails is None and read.limits is None):
        why = read.error if read is not None and read.error else "not read over SSH"
        return [probe.Check(host, name, "skip", why) for name in (BANS_CHECK, LIMITS_CHECK)]
    if read.jails is None:
        bans = probe.Check(host, BANS_CHECK, "fail", "fail2ban does not answer (deploy, or start fail2ban)")
    elif missing := read.missing(jails):
        bans = probe.Check(host, BANS_CHECK, "fail", f"jails not loaded: {', '.join(missing)}")
    else:
        bans = probe.Check(host, BANS_CHECK, "pass", f"jails loaded: {', '.join(read.jails)}")
    if not read.limits:
        limits = probe.Check(host, LIMITS_CHECK, "fail", "rspamd has no ratelimit rates (deploy --tags rspamd)")
    else:
        default = read.limits.get("mailprov_user")
        others = len(read.limits) - (default is not None)
        detail = f"{default if default is not None else '?'} messages an hour per user"
        limits = probe.Check(host, LIMITS_CHECK, "pass", detail + (f", {others} own limits" if others else ""))
    return [bans, limits]


def checks_summary(results: list[probe.Check]) -> dict[str, Any]:
    return {"ok": all(c.ok for c in results), "checks": [vars(c) for c in results]}


def print_tables(console: Console, hosts: list[probe.Target], results: list[probe.Check]) -> None:
    for target in hosts:
        console.print(_check_table(target, [c for c in results if c.host == target.host]))
    for c in results:
        if c.name == probe.ROUND_TRIP_CHECK and c.status == "pass":
            console.print(f"mail round trip on {c.host}: {c.detail}")


def login_note(console: Console, *, no_login: bool, has_account: bool) -> None:
    if no_login:
        console.print("[yellow]login checks skipped (--no-login)[/]: sending and reading mail were not tested")
    elif not has_account:
        console.print(
            "[red]no account to log in with[/], so sending and reading mail could not be tested: "
            "pass --user ADDRESS --password-stdin, run `mailprov probe-account create`, "
            "or skip them with --no-login"
        )


def verdict(results: list[probe.Check]) -> str:
    """``N/M checks passed``, red when any failed, naming the failed ones."""
    failed = [c for c in results if not c.ok]
    summary = f"{len(results) - len(failed)}/{len(results)} checks passed"
    if not failed:
        return f"[green]{summary}[/]"
    return f"[red]{summary}; failed: {', '.join(f'{c.host}: {c.name}' for c in failed)}[/]"


def _login_account(inventory_dir: Path, user: str | None, password_stdin: bool, no_login: bool) -> Credentials | None:
    """--user's account, else the inventory's probe account; None with --no-login or neither."""
    if no_login:
        if user or password_stdin:
            fail("--no-login skips the logins: leave out --user and --password-stdin")
        return None
    if user:
        return Credentials(user.strip().lower(), read_password(password_stdin))
    if password_stdin:
        fail("--password-stdin needs --user ADDRESS")
    try:
        return load_probe_account(inventory_dir)
    except (ProbeAccountError, VaultFileError) as err:
        fail(str(err))


def _check_table(target: probe.Target, results: list[probe.Check]) -> FitTable:
    title = f"{target.host} ({target.address})"
    if not target.services:  # a fleet's mailbox back end: nothing of it answers from outside
        title = f"{target.host} (mailbox back end, read over SSH)"
    table = FitTable(("check", "result", "time", "detail"), title=title,
                     wrap="detail", right=("time",))
    style = {"pass": "green", "fail": "bold red", "skip": "yellow"}
    for c in results:
        table.add_row(Text(c.name), f"[{style[c.status]}]{c.status}[/]", f"{c.seconds:.2f}s", Text(c.detail))
    return table
