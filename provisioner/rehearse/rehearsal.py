"""`mailprov rehearse`: deploy the operator's inventory onto throwaway local containers, then check.

One container per inventory host (:mod:`provisioner.rehearse.overlay` plans
them and writes the private inventory copy), on the host's Debian release,
with its real mail hostname. site.yml is deployed through
:func:`provisioner.runner.run.execute` with the inventory's own vault
password file, then every host is probed like `mailprov check` does, with
the inventory's probe account. The containers and the private folder are
removed at the end, also on failure, Ctrl-C or SIGTERM, unless ``keep``.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from provisioner.inventory.model import Inventory
from provisioner.inventory.probe_account import Credentials
from provisioner.inventory.probe_account import load as load_probe_account
from provisioner.inventory.store import load_inventory
from provisioner.inventory.vault import find_vault_password_file
from provisioner.probe import checks as probe
from provisioner.rehearse.overlay import CONNECTION_FILE, NAME_PREFIX, Stand, plan, write_overlay
from provisioner.runner.options import AnsibleOptions, PlaybookRun
from provisioner.runner.progress import Failure, HostCounts
from provisioner.runner.run import EventSink, RunResult, execute, playbook_path
from provisioner.sandbox import container

Step = Callable[[str], None]


@dataclass
class HostOutcome:
    stand: Stand
    deploy: HostCounts | None = None  # None: the deploy never reached the host
    failures: list[Failure] = field(default_factory=list)
    checks: list[probe.Check] = field(default_factory=list)
    checked: bool = False

    @property
    def deploy_ok(self) -> bool:
        return self.deploy is not None and not self.deploy.failed and not self.deploy.unreachable

    @property
    def checks_failed(self) -> list[probe.Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def ok(self) -> bool:
        return self.deploy_ok and self.checked and not self.checks_failed


@dataclass
class Rehearsal:
    outcomes: list[HostOutcome]
    deploy: RunResult | None = None
    kept: Path | None = None  # the private folder, with --keep
    has_probe_account: bool = True

    @property
    def ok(self) -> bool:
        return bool(self.outcomes) and all(o.ok for o in self.outcomes)


def leftover_containers() -> list[str]:
    """Containers of an earlier rehearsal (kept, or a crash): their names block ours."""
    out = container.podman("ps", "-a", "--filter", f"name=^{NAME_PREFIX}", "--format", "{{.Names}}")
    return [n for n in out.stdout.decode().split() if n.startswith(NAME_PREFIX)]


class Terminated(KeyboardInterrupt):
    """SIGTERM (a cancelled CI job), handled like Ctrl-C: clean up, then stop."""


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(_signum: int, _frame: FrameType | None) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _machine(stand: Stand) -> container.Machine:
    return container.Machine(stand.name, stand.release, stand.hostname, "mailprov.rehearse=1", stand.ports)


def start_containers(stands: Sequence[Stand], workdir: Path, step: Step) -> None:
    """Start every stand-in, authorise our key, pin their host keys."""
    for release in sorted({s.release for s in stands}):
        if container.ensure_image(release):
            step(f"built image {container.image_for(release)}")
    key = workdir / "id_ed25519"
    container.make_key(key, "mailprov-rehearse")
    for stand in stands:
        step(f"starting {stand.name} ({stand.release}, hostname {stand.hostname}) for {stand.host}")
        container.start(_machine(stand))
    pins = []
    for stand in stands:
        container.wait_ready(stand.name)
        pins.append(container.authorize_and_pin(_machine(stand), key))
    (workdir / "known_hosts").write_text("".join(pins))


def remove_all(stands: Sequence[Stand], workdir: Path) -> list[str]:
    """Remove the containers and the private folder; returns what could not be removed."""
    problems = []
    for stand in stands:
        try:
            container.remove(stand.name)
        except container.ContainerError as err:
            problems.append(f"{stand.name}: {err}")
    shutil.rmtree(workdir, ignore_errors=True)
    return problems


def deploy(
    overlay: Path,
    workdir: Path,
    vault: Path | None,
    verbosity: int,
    on_event: EventSink | None,
    *,
    bundle: Path | None = None,
    limit: str | None = None,
) -> RunResult:
    """site.yml onto the containers; ``bundle``: an earlier release's deploy files (else ours)."""
    options = AnsibleOptions(
        limit=limit, extra_vars=(f"@{workdir / CONNECTION_FILE}",), verbosity=verbosity, vault_password_file=vault
    )
    playbook = bundle / "playbooks" / "site.yml" if bundle is not None else playbook_path("site.yml")
    return execute(PlaybookRun(playbook, overlay, options, bundle), on_event)


def check_hosts(overlay: Path, outcomes: Sequence[HostOutcome], creds: Credentials | None, step: Step) -> None:
    """`mailprov check` against every host whose deploy succeeded."""
    inventory = load_inventory(overlay)
    by_host = {o.stand.host: o for o in outcomes if o.deploy_ok}
    for target in probe.targets(inventory, creds, ",".join(by_host) or None):
        if target.host not in by_host:
            continue
        step(f"checking {target.host} at 127.0.0.1 ({by_host[target.host].stand.name})")
        by_host[target.host].checks = probe.run_checks(target)
        by_host[target.host].checked = True


@dataclass(frozen=True)
class Setup:
    """What a rehearsal needs, checked before anything starts."""

    inventory_dir: Path
    inventory: Inventory
    stands: list[Stand]
    vault: Path | None
    creds: Credentials | None


def prepare(inventory_dir: Path, limit: str | None) -> Setup:
    """Raises UsageError / ContainerError / VaultFileError / ProbeAccountError when the set-up is wrong."""
    inventory = load_inventory(inventory_dir)
    stands = plan(inventory, limit)
    vault = find_vault_password_file(inventory_dir)  # the same lookup as `deploy`
    creds = load_probe_account(inventory_dir)
    leftovers = leftover_containers()
    if leftovers:
        raise container.ContainerError(
            f"containers of an earlier rehearsal exist: {', '.join(leftovers)}; "
            f"remove them with: podman rm -f {' '.join(leftovers)}"
        )
    return Setup(inventory_dir, inventory, stands, vault, creds)


@dataclass
class Workspace:
    workdir: Path  # private (0700): the inventory copy, SSH key, known_hosts
    overlay: Path
    kept: Path | None = None


@contextlib.contextmanager
def workspace(setup: Setup, keep: bool, step: Step) -> Iterator[Workspace]:
    """The private inventory copy; on exit the containers and the copy go, unless ``keep``.

    Also on failure, Ctrl-C or SIGTERM. The caller starts the containers.
    """
    workdir = Path(tempfile.mkdtemp(prefix="mailprov-rehearse-"))  # 0700
    space = Workspace(workdir, workdir / "inventory")
    try:
        with _sigterm_interrupts():
            write_overlay(setup.inventory_dir, workdir, setup.stands)
            yield space
    finally:
        if keep:
            space.kept = workdir
            step(f"kept {', '.join(s.name for s in setup.stands)} and {workdir} (--keep)")
        else:
            step("removing the containers")
            for problem in remove_all(setup.stands, workdir):
                step(f"could not remove {problem}")


def rehearse(
    inventory_dir: Path,
    *,
    limit: str | None = None,
    keep: bool = False,
    verbosity: int = 0,
    step: Step = lambda _msg: None,
    on_event: EventSink | None = None,
) -> Rehearsal:
    """The whole rehearsal. Raises (see :func:`prepare`) before anything starts when the set-up is wrong."""
    setup = prepare(inventory_dir, limit)
    outcomes = [HostOutcome(s) for s in setup.stands]
    result = Rehearsal(outcomes, has_probe_account=setup.creds is not None)
    with workspace(setup, keep, step) as space:
        start_containers(setup.stands, space.workdir, step)
        step("deploying site.yml to the containers")
        result.deploy = deploy(space.overlay, space.workdir, setup.vault, verbosity, on_event)
        for outcome in outcomes:
            outcome.deploy = result.deploy.progress.hosts.get(outcome.stand.host)
            outcome.failures = [f for f in result.deploy.progress.failures if f.host == outcome.stand.host]
        check_hosts(space.overlay, outcomes, setup.creds, step)
    result.kept = space.kept
    return result
