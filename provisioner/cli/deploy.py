"""`mailprov deploy` and `mailprov apply accounts`: one playbook run each, with live progress and a report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console

from provisioner.cli.ansible_options import ansible_options
from provisioner.cli.common import inventory_option, json_option, print_json
from provisioner.cli.display import live_progress, print_report
from provisioner.cli.profile_report import print_profile, profile_option, timed
from provisioner.runner.options import AnsibleOptions, PlaybookRun
from provisioner.runner.run import execute, playbook_path
from provisioner.runner.timing import Timing


def _run_and_report(inventory_dir: Path, playbook: str, ansible: AnsibleOptions, as_json: bool, keep: bool, *,
                    profile: bool = False) -> NoReturn:
    """Run one playbook with live progress (the runner validates first), report; exit with Ansible's code."""
    # With --json, stdout carries only the summary; everything human goes to stderr.
    console = Console(stderr=as_json)

    def announce(run: PlaybookRun) -> None:
        if ansible.verbosity:
            console.print(" ".join(run.argv()), style="dim", highlight=False)

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
    if as_json:
        extra = {"profile": timing.summary()} if timing is not None else {}
        print_json({"rc": result.rc, **result.progress.summary(), **extra})
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
@profile_option
def deploy(inventory_dir: Path, ansible: AnsibleOptions, as_json: bool, keep_artifacts: bool, profile: bool) -> None:
    """Make the servers match the inventory (playbooks/site.yml).

    `--check --diff` shows what would change and changes nothing;
    `--tags accounts` applies only domains, mailboxes and aliases.
    """
    _run_and_report(inventory_dir, "site.yml", ansible, as_json, keep_artifacts, profile=profile)


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
