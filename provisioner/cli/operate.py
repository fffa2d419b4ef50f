"""`mailprov deploy`, `apply accounts`, `check`, `settings` and `sandbox`: parse, call, print."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from provisioner.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    fail,
    inventory_option,
    load_or_exit,
    print_json,
    read_password,
)
from provisioner.cli.display import live_progress, print_report
from provisioner.inventory.logins import NoLogin
from provisioner.inventory.probe_account import Credentials, ProbeAccountError
from provisioner.inventory.probe_account import load as load_probe_account
from provisioner.inventory.vault import VaultFileError
from provisioner.probe import checks as probe
from provisioner.probe import client_settings
from provisioner.runner.options import AnsibleOptions, PlaybookRun, ansible_options
from provisioner.runner.run import (
    ansible_env,
    count_tasks,
    playbook_path,
    run_playbook,
    with_vault,
)
from provisioner.sandbox import server as sandbox

json_option = click.option("--json", "as_json", is_flag=True, help="Print a JSON summary (for CI).")


def _run(inventory_dir: Path, playbook: str, ansible: AnsibleOptions, as_json: bool, keep: bool) -> None:
    """Validate, run one playbook with live progress, report; exit with Ansible's code."""
    load_or_exit(inventory_dir)  # nothing touches a host before the inventory is valid
    try:
        run = with_vault(PlaybookRun(playbook_path(playbook), inventory_dir.resolve(), ansible))
    except VaultFileError as err:
        fail(str(err))
    # With --json, stdout carries only the summary; everything human goes to stderr.
    console = Console(stderr=as_json)
    if ansible.verbosity:
        console.print(" ".join(run.argv()), style="dim", highlight=False)
    total = count_tasks(run, ansible_env())
    with live_progress(console, ansible.verbosity) as sink:
        result = run_playbook(run, on_event=sink, keep_artifacts=keep, total_tasks=total)
    print_report(console, result.progress, show_diffs=ansible.diff)
    if result.artifacts is not None:
        console.print(f"artifacts kept in {result.artifacts} (private: they may hold secrets)")
    if as_json:
        print_json({"rc": result.rc, **result.progress.summary()})
    elif result.rc == 0:
        verb = "would change" if ansible.check else "changed"
        console.print(f"[green]done[/]: {result.progress.total_changed} {verb}")
    sys.exit(result.rc)


keep_option = click.option(
    "--keep-artifacts", is_flag=True, help="Keep ansible-runner's private data dir (for debugging)."
)


@click.command()
@inventory_option
@ansible_options
@json_option
@keep_option
def deploy(inventory_dir: Path, ansible: AnsibleOptions, as_json: bool, keep_artifacts: bool) -> None:
    """Make the servers match the inventory (playbooks/site.yml).

    `--check --diff` shows what would change and changes nothing;
    `--tags accounts` applies only domains, mailboxes and aliases.
    """
    _run(inventory_dir, "site.yml", ansible, as_json, keep_artifacts)


@click.group()
def apply() -> None:
    """Apply one part of the inventory quickly."""


@apply.command("accounts")
@inventory_option
@ansible_options
@json_option
@keep_option
def apply_accounts(inventory_dir: Path, ansible: AnsibleOptions, as_json: bool, keep_artifacts: bool) -> None:
    """Only domains, mailboxes and aliases (playbooks/accounts.yml)."""
    _run(inventory_dir, "accounts.yml", ansible, as_json, keep_artifacts)


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
            results += probe.run_checks(target, lambda c: status.update(f"{c.host}: {c.name}"), inventory)
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


@click.command()
@click.argument("address")
@inventory_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(client_settings.FORMATS),
    default="text",
    show_default=True,
    help="Output format.",
)
def settings(address: str, inventory_dir: Path, fmt: str) -> None:
    """What to type into a mail client for ADDRESS."""
    inventory = load_or_exit(inventory_dir)
    try:
        found = client_settings.client_settings(inventory, address)
    except (client_settings.UnknownDomain, NoLogin) as err:
        fail(str(err))
    click.echo(client_settings.render(found, fmt).rstrip("\n"))


release_option = click.option(
    "--release",
    type=click.Choice(sandbox.RELEASES),
    default="trixie",
    show_default=True,
    help="Debian release of the sandbox.",
)


@click.group("sandbox")
def sandbox_group() -> None:
    """A local Debian container to deploy to (state in ./.sandbox or $MAILPROV_SANDBOX_DIR)."""


@sandbox_group.command("up")
@release_option
def sandbox_up(release: str) -> None:
    """Start the sandbox (building its image if needed) and write its inventory."""
    box = _box(release)
    try:
        result = sandbox.up(box)
    except sandbox.SandboxError as err:
        fail(str(err), EXIT_FAILED)
    click.echo(f"sandbox {box.name}: {'started' if result.started else 'already running'}")
    if result.demo_password:
        click.echo(f"demo mailbox {sandbox.DEMO_USER}, password: {result.demo_password}")
        click.echo("  (shown once; only its hash is stored)")
    _print_status(box)


@sandbox_group.command("down")
@release_option
def sandbox_down(release: str) -> None:
    """Remove the sandbox container (its key and inventory stay)."""
    box = _box(release)
    removed = sandbox.down(box)
    click.echo(f"sandbox {box.name}: {'removed' if removed else 'not present'}")


@sandbox_group.command("status")
@release_option
def sandbox_status(release: str) -> None:
    """Show the container's state, published ports and inventory."""
    box = _box(release)
    state = _print_status(box)
    sys.exit(0 if state == "running" else EXIT_FAILED)


def _box(release: str) -> sandbox.Sandbox:
    try:
        return sandbox.sandbox_for(release)
    except sandbox.SandboxError as err:
        fail(str(err), EXIT_BAD_INPUT)


def _print_status(box: sandbox.Sandbox) -> str | None:
    try:
        state = sandbox.container_state(box)
    except sandbox.SandboxError as err:
        fail(str(err), EXIT_FAILED)
    click.echo(f"container: {box.name} ({state or 'not present'}), image {box.image}")
    click.echo(f"inventory: {box.inventory}")
    for service, port in box.ports().items():
        click.echo(f"  {service:<12} 127.0.0.1:{port}")
    return state
