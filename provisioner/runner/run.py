"""Run playbooks through ansible-runner, with live progress and a clean report.

Every command that runs Ansible (deploy, apply accounts, rehearse, the DKIM key fetch) makes
one call, :func:`execute`; the other functions here are its steps.

- Nothing touches a host before the inventory validates.
- ``suppress_env_files=True`` and a fresh private data dir (0700, removed after
  the run unless ``keep_artifacts``): ansible-runner's artifacts hold every
  event's output, diffs included, so they never outlive the run by accident.
- The vault password comes from a file (``provisioner.inventory.vault``), never from argv.
- Exit code: Ansible's own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from provisioner.inventory.store import load_inventory
from provisioner.inventory.vault import find_vault_password_file
from provisioner.resources import resource_path
from provisioner.runner.options import PlaybookRun
from provisioner.runner.progress import Progress
from provisioner.runner.strategy import strategy_env

EventSink = Callable[[dict[str, Any], Progress], None]
RunStart = Callable[[PlaybookRun], None]


@dataclass
class RunResult:
    rc: int
    progress: Progress
    artifacts: Path | None = None  # kept private data dir, if asked for


def playbook_path(name: str) -> Path:
    """A shipped playbook, e.g. ``site.yml`` or ``accounts.yml``."""
    return resource_path("playbooks") / name


def ansible_env(bundle: Path | None = None) -> dict[str, str]:
    """Environment for ansible-playbook, independent of the caller's PATH.

    ansible-runner looks ``ansible-playbook`` up on PATH; a venv's mailprov
    run without an activated venv would get rc 127, so our interpreter's bin
    folder goes first. ``bundle``: a folder with another release's roles/ and
    ansible.cfg (`rehearse --upgrade-from`); default, ours.
    """
    bindir = str(Path(sys.executable).parent)
    env = {
        "PATH": os.pathsep.join([bindir, os.environ.get("PATH", os.defpath)]),
        "ANSIBLE_ROLES_PATH": str(bundle / "roles" if bundle is not None else resource_path("roles")),
        # Our own rendering replaces Ansible's colourful stdout.
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        # ansible-runner turns host key checking off unless told otherwise: a deploy that
        # would hand root to any machine answering on the address is not one we run.
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        **strategy_env(),
    }
    # Without our ansible.cfg, Ansible's defaults plus the variables above still work.
    if bundle is None:
        with contextlib.suppress(FileNotFoundError):
            env["ANSIBLE_CONFIG"] = str(resource_path("ansible.cfg"))
    elif (bundle / "ansible.cfg").is_file():
        env["ANSIBLE_CONFIG"] = str(bundle / "ansible.cfg")
    return env


def execute(
    run: PlaybookRun,
    on_event: EventSink | None = None,
    *,
    on_start: RunStart | None = None,
    count: bool = True,
    keep_artifacts: bool = False,
) -> RunResult:
    """The one call into Ansible: validate, complete the run, count its tasks, run it.

    In this order, so that a mistake stops the command before any host is touched:

    1. the inventory must validate (:class:`provisioner.problems.InventoryInvalid` otherwise);
    2. the inventory's vault password file joins the options, unless the run names one
       (:class:`provisioner.inventory.vault.VaultFileError` when it is unsafe);
    3. ``on_start`` sees the run as it will go (the CLI prints its argv with -v);
    4. the tasks are counted for a progress bar: one extra ``ansible-playbook --list-tasks``,
       which ``count=False`` skips for runs nobody watches;
    5. the run, each event applied to the progress model, then passed to ``on_event``.

    Returns Ansible's rc with the progress model; see :func:`run_playbook` for the data dir.
    """
    load_inventory(run.inventory)  # problems name the files as the caller spelled the folder
    # ansible-runner starts ansible-playbook in its private data dir: a relative path would miss.
    run = with_vault(replace(run, inventory=run.inventory.resolve()))
    if on_start is not None:
        on_start(run)
    total = count_tasks(run, ansible_env(run.bundle)) if count else None
    return run_playbook(run, on_event=on_event, keep_artifacts=keep_artifacts, total_tasks=total)


def with_vault(run: PlaybookRun) -> PlaybookRun:
    """``run`` with the inventory's vault password file added, if it has one."""
    if run.options.vault_password_file is not None:
        return run  # named by the caller (rehearse: the real inventory's, not its copy's)
    vault = find_vault_password_file(run.inventory)
    if vault is None:
        return run
    return replace(run, options=replace(run.options, vault_password_file=vault))


def count_tasks(run: PlaybookRun, env: dict[str, str]) -> int | None:
    """How many tasks the run will start (``--list-tasks``), for the progress bar.

    Best effort: dynamic includes make it approximate, and a failure here
    only means an indeterminate bar.
    """
    argv = [*run.argv(), "--list-tasks"]
    # subprocess looks argv[0] up on *our* PATH, not env's: resolve it ourselves.
    argv[0] = shutil.which(argv[0], path=env.get("PATH")) or argv[0]
    try:
        out = subprocess.run(
            argv,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return count_listed_tasks(out.stdout)


def count_listed_tasks(listing: str) -> int:
    """Task lines are indented under "play #N" and carry a "TAGS:" suffix. A play of the same
    name as an earlier one is the same roles for other hosts (site.yml's two deploy steps run
    playbooks/mail_server.yml each): a host runs one of them, so it counts once."""
    seen: set[str] = set()
    counting = True
    total = 0
    for line in listing.splitlines():
        if line.startswith("  play #"):
            name = line.split(": ", 1)[-1].split("\tTAGS:")[0].strip()
            counting = name not in seen
            seen.add(name)
        elif counting and line.startswith("      ") and "TAGS:" in line:
            total += 1
    return total


def run_playbook(
    run: PlaybookRun,
    *,
    on_event: EventSink | None = None,
    keep_artifacts: bool = False,
    total_tasks: int | None = None,
) -> RunResult:
    """Run ``run`` and return Ansible's rc with the progress model.

    ``on_event`` is called after each event has been applied to the model
    (the CLI uses it to refresh the live display).
    """
    # Heavy import: only commands that run Ansible pay for it.
    import ansible_runner  # noqa: PLC0415

    progress = Progress(tasks_total=total_tasks)

    def handler(event: dict[str, Any]) -> bool:
        progress.handle(event)
        if on_event is not None:
            on_event(event, progress)
        return True  # keep ansible-runner's artifact for the event

    data_dir = Path(tempfile.mkdtemp(prefix="mailprov-run-"))  # mkdtemp makes it 0700
    try:
        result = ansible_runner.run(
            private_data_dir=str(data_dir),
            suppress_env_files=True,
            quiet=True,
            event_handler=handler,
            envvars=ansible_env(run.bundle),
            **run.runner_kwargs(),
        )
        rc = int(result.rc) if result.rc is not None else 1
    finally:
        if not keep_artifacts:
            shutil.rmtree(data_dir, ignore_errors=True)
    return RunResult(rc=rc, progress=progress, artifacts=data_dir if keep_artifacts else None)
