"""`mailprov check`: probe every host from outside like a mail client, and print what answered."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from provisioner.cli.common import (
    EXIT_FAILED,
    fail,
    inventory_option,
    json_option,
    load_or_exit,
    print_json,
    read_password,
)
from provisioner.inventory.probe_account import Credentials, ProbeAccountError
from provisioner.inventory.probe_account import load as load_probe_account
from provisioner.inventory.vault import VaultFileError
from provisioner.probe import checks as probe


@click.command()
@inventory_option
@json_option
@click.option("-l", "--limit", metavar="HOSTS", help="Only these hosts (comma-separated names).")
@click.option("--user", metavar="ADDRESS", help="Log in as this mailbox (default: the probe account).")
@click.option("--password-stdin", is_flag=True, help="Read --user's password from standard input.")
@click.option(
    "--no-login", is_flag=True, help="Skip the login checks (sending and reading mail) on purpose."
)
def check(
    *, inventory_dir: Path, as_json: bool, limit: str | None, user: str | None, password_stdin: bool, no_login: bool
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
    results: list[probe.Check] = []
    for target in hosts:
        with console.status(f"checking {target.host} at {target.address}") as status:
            results += probe.run_checks(target, lambda c: status.update(f"{c.host}: {c.name}"))
    if as_json:
        print_json({"ok": all(c.ok for c in results), "checks": [vars(c) for c in results]})
    else:
        for target in hosts:
            console.print(_check_table(target, [c for c in results if c.host == target.host]))
    failed = [c for c in results if not c.ok]
    if not as_json:
        if no_login:
            console.print("[yellow]login checks skipped (--no-login)[/]: sending and reading mail were not tested")
        elif creds is None:
            console.print(
                "[red]no account to log in with[/], so sending and reading mail could not be tested: "
                "pass --user ADDRESS --password-stdin, run `mailprov probe-account create`, "
                "or skip them with --no-login"
            )
        for c in results:
            if c.name == probe.ROUND_TRIP_CHECK and c.status == "pass":
                console.print(f"mail round trip on {c.host}: {c.detail}")
        summary = f"{len(results) - len(failed)}/{len(results)} checks passed"
        console.print(f"[red]{summary}[/]" if failed else f"[green]{summary}[/]")
    sys.exit(EXIT_FAILED if failed else 0)


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


def _check_table(target: probe.Target, results: list[probe.Check]) -> Table:
    table = Table(title=f"{target.host} ({target.address})", title_justify="left")
    table.add_column("check", no_wrap=True)
    table.add_column("result")
    table.add_column("time", justify="right")
    table.add_column("detail", overflow="fold")
    style = {"pass": "green", "fail": "bold red", "skip": "yellow"}
    for c in results:
        table.add_row(c.name, f"[{style[c.status]}]{c.status}[/]", f"{c.seconds:.2f}s", c.detail)
    return table
