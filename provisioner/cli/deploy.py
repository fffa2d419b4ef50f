"""`mailprov deploy` and `mailprov apply accounts`: one playbook run each, with live progress and a report."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console
from rich.text import Text

from provisioner import __version__
from provisioner.cli import check as check_cli
from provisioner.cli.ansible_options import ansible_options
from provisioner.cli.common import EXIT_FAILED, inventory_option, json_option, print_json
from provisioner.cli.display import live_progress, print_report
from provisioner.cli.profile_report import print_profile, profile_option, timed
from provisioner.deployed.plan import AccountPlan, account_plans
from provisioner.inventory.probe_account import ProbeAccountError
from provisioner.inventory.probe_account import load as load_probe_account
from provisioner.inventory.store import load_inventory
from provisioner.inventory.vault import VaultFileError
from provisioner.probe import checks as probe
from provisioner.resources import source_commit
from provisioner.runner.options import AnsibleOptions, PlaybookRun
from provisioner.runner.progress import Progress
from provisioner.runner.run import RunResult, execute, playbook_path
from provisioner.runner.timing import Timing


def _run_and_report(
    inventory_dir: Path, playbook: str, ansible: AnsibleOptions, as_json: bool, keep: bool, *, check: bool = False,
    profile: bool = False,
) -> NoReturn:
    """Run one playbook with live progress (the runner validates first), report; with ``check``,
    `mailprov check` the deployed hosts. Exit: Ansible's code, else 1 when a check failed."""
    # With --json, stdout carries only the summary; everything human goes to stderr.
    console = Console(stderr=as_json)

    def announce(run: PlaybookRun) -> None:
        if ansible.verbosity:
            console.print(" ".join(run.argv()), style="dim", highlight=False)

    plans = _account_plans(console, inventory_dir, ansible) if ansible.check else None
    timing = Timing() if profile else None
    with live_progress(console, ansible.verbosity) as sink:
        result = execute(
            PlaybookRun(playbook_path(playbook), inventory_dir, ansible), timed(sink, timing), on_start=announce,
            keep_artifacts=keep,
        )
    print_report(console, result.progress, show_diffs=ansible.diff)
    if timing is not None:
        print_profile(console, timing)
    if result.artifacts is not None:
        console.print(f"artifacts kept in {result.artifacts} (private: they may hold secrets)")
    checks = _checks_after(console, inventory_dir, result, as_json) if check and not ansible.check else None
    failed = [c for c in checks or [] if not c.ok]
    code = result.rc or (EXIT_FAILED if failed else 0)
    if as_json:
        summary = check_cli.checks_summary(checks) if checks is not None else None
        accounts = None if plans is None else {
            p.host: {"deployed": p.deployed, "changes": p.lines, "error": p.error} for p in plans
        }
        extra = {"profile": timing.summary()} if timing is not None else {}
        print_json({"rc": result.rc, "exit": code, **result.progress.summary(), "check": summary,
                    "accounts_plan": accounts, **extra})
    else:
        _print_verdict(console, result, ansible, checks, asked=check)
    sys.exit(code)


def _account_plans(console: Console, inventory_dir: Path, ansible: AnsibleOptions) -> list[AccountPlan] | None:
    """With --check, when the run includes the accounts: what they would change, secret-free
    (the passwd-file task is no_log, so Ansible's own diff cannot show it)."""
    if ansible.tags and "accounts" not in ansible.tags:
        return None
    with console.status("reading the deployed accounts (read-only)"):
        plans = account_plans(inventory_dir, ansible.limit)
    console.print("[bold]Account changes[/] (compared with what each host has deployed; no secrets):")
    for plan in plans:
        if plan.error is not None:
            console.print(f"  {plan.host}: [red]not read[/]: {plan.error}", highlight=False)
            continue
        state = "" if plan.deployed else " (no accounts manifest: never deployed by this mailprov, all new)"
        count = f"{len(plan.lines)} change{'s' if len(plan.lines) != 1 else ''}" if plan.lines else "no change"
        console.print(f"  {plan.host}: {count}{state}", highlight=False)
        for line in plan.lines:
            style = {"+": "green", "-": "red"}.get(line[0], "yellow")
            console.print(Text(f"    {line}", style=style))
    return plans


def _checks_after(console: Console, inventory_dir: Path, result: RunResult, as_json: bool) -> list[probe.Check] | None:
    """`mailprov check` on the hosts the deploy reached without failure; None when it failed."""
    if result.rc != 0:
        return None
    hosts = _deployed_hosts(result.progress)
    try:
        creds = load_probe_account(inventory_dir)
        note = "" if creds is not None else "no probe account (`mailprov probe-account create`)"
    except (ProbeAccountError, VaultFileError) as err:
        creds, note = None, str(err)
    inventory = load_inventory(inventory_dir)
    targets = probe.targets(inventory, creds, ",".join(hosts), login=creds is not None)
    results = check_cli.run_probes(console, targets, inventory) if targets else []
    if not as_json:
        check_cli.print_tables(console, targets, results)
    if note:
        console.print(f"[yellow]login checks skipped[/]: {note}; sending and reading mail were not tested")
    return results


def _deployed_hosts(progress: Progress) -> list[str]:
    return sorted(h for h, c in progress.hosts.items() if not c.failed and not c.unreachable)


def _print_verdict(
    console: Console, result: RunResult, ansible: AnsibleOptions, checks: list[probe.Check] | None, *, asked: bool
) -> None:
    if result.rc != 0:
        if asked and not ansible.check:
            console.print("[red]deploy failed[/]: checks not run")
        return
    verb = "would change" if ansible.check else "changed"
    done = f"{result.progress.total_changed} {verb}"
    if checks is None:
        why = " (checks skipped: --check changes nothing)" if asked and ansible.check else ""
        console.print(f"[green]done[/]: {done}{why}")
    elif any(not c.ok for c in checks):
        console.print(f"[bold red]deployed, but the server does not work[/]: {done}; "
                      + check_cli.verdict(checks))
    else:
        console.print(f"[green]done[/]: {done}; " + check_cli.verdict(checks))


keep_option = click.option(
    "--keep-artifacts", is_flag=True, help="Keep ansible-runner's private data dir (for debugging)."
)


@click.command()
@inventory_option
@ansible_options
@json_option
@keep_option
@profile_option
@click.option("--no-check", is_flag=True, help="Do not run `mailprov check` after the deploy.")
def deploy(*, inventory_dir: Path, ansible: AnsibleOptions, as_json: bool, keep_artifacts: bool, profile: bool,
           no_check: bool) -> None:
    """Make the servers match the inventory (playbooks/site.yml), then check them.

    After a successful deploy, `mailprov check` runs on the deployed hosts; a failed
    check makes the exit code 1 (--no-check skips it; so do --check and a failed deploy).
    `--check --diff` shows what would change and changes nothing;
    `--tags accounts` applies only domains, mailboxes and aliases.
    """
    # The last play of site.yml records them on the host for `mailprov status`; the operator's -e wins.
    record = json.dumps({"mailprov_version": __version__, "mailprov_commit": source_commit() or ""})
    ansible = replace(ansible, extra_vars=(record, *ansible.extra_vars))
    _run_and_report(inventory_dir, "site.yml", ansible, as_json, keep_artifacts, check=not no_check, profile=profile)


@click.group()
def apply() -> None:
    """Apply one part of the inventory quickly."""


@apply.command("accounts")
@inventory_option
@ansible_options
@json_option
@keep_option
@profile_option
def apply_accounts(inventory_dir: Path, ansible: AnsibleOptions, as_json: bool, keep_artifacts: bool,
                   profile: bool) -> None:
    """Only domains, mailboxes and aliases (playbooks/accounts.yml)."""
    _run_and_report(inventory_dir, "accounts.yml", ansible, as_json, keep_artifacts, profile=profile)
