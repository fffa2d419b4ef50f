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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType

from provisioner.inventory.model import Inventory, Tls
from provisioner.inventory.probe_account import Credentials, create_throwaway
from provisioner.inventory.probe_account import load as load_probe_account
from provisioner.inventory.store import load_inventory
from provisioner.inventory.vault import find_vault_password_file
from provisioner.probe import checks as probe
from provisioner.rehearse import fleet
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
    has_probe_account: bool = True  # the inventory's own, or the throwaway one made for the rehearsal
    throwaway_probe: str | None = None  # its address, when the rehearsal made one in its copy

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


LABEL = "mailprov.rehearse=1"
NETWORK = container.Network(fleet.NETWORK, str(fleet.SUBNET), LABEL)


def machine_for(stand: Stand, stands: Sequence[Stand] = ()) -> container.Machine:
    machine = container.Machine(stand.name, stand.release, stand.hostname, LABEL, stand.ports)
    if stand.address is None:
        return machine
    # The other hosts' names resolve to their fleet addresses, as the real fleet's DNS would.
    peers = {s.hostname: s.address for s in stands if s.address and s.hostname != stand.hostname}
    return replace(machine, network=NETWORK, address=stand.address, capabilities=fleet.CAPABILITIES, peers=peers)


def leftover_network() -> list[str]:
    """The fleet network of an earlier rehearsal: ours could not be made with its subnet."""
    return [fleet.NETWORK] if container.network_exists(fleet.NETWORK) else []


def start_containers(stands: Sequence[Stand], workdir: Path, step: Step) -> None:
    """Start every stand-in (a fleet's on their network), authorise our key, pin their host keys."""
    for release in sorted({s.release for s in stands}):
        if container.ensure_image(release):
            step(f"built image {container.image_for(release)}")
    key = workdir / "id_ed25519"
    container.make_key(key, "mailprov-rehearse")
    if any(s.address for s in stands):
        step(f"creating the network {NETWORK.name} ({NETWORK.subnet}) for the fleet")
        container.create_network(NETWORK)
    for stand in stands:
        at = f", {stand.address}" if stand.address else ""
        step(f"starting {stand.name} ({stand.release}, hostname {stand.hostname}{at}) for {stand.host}")
        container.start(machine_for(stand, stands))
    pins = []
    for stand in stands:
        container.wait_ready(stand.name)
        pins.append(container.authorize_and_pin(machine_for(stand), key))
    (workdir / "known_hosts").write_text("".join(pins))


def remove_all(stands: Sequence[Stand], workdir: Path) -> list[str]:
    """Remove the containers, their network and the private folder; returns what could not be removed."""
    def remove(stand: Stand) -> str | None:
        try:
            container.remove(stand.name)
        except container.ContainerError as err:
            return f"{stand.name}: {err}"
        return None

    # Side by side: each waits up to podman's stop timeout for systemd to shut down.
    with ThreadPoolExecutor(max_workers=max(1, len(stands))) as pool:
        problems = [p for p in pool.map(remove, stands) if p is not None]
    if any(s.address for s in stands):
        try:
            container.remove_network(NETWORK.name)
        except container.ContainerError as err:
            problems.append(f"{NETWORK.name}: {err}")
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
    if inventory.settings.tls.mode == "acme":  # the stand-ins serve self-signed certificates (overlay.py)
        inventory = replace(inventory, settings=replace(inventory.settings, tls=Tls()))
    by_host = {o.stand.host: o for o in outcomes if o.deploy_ok}
    for target in probe.targets(inventory, creds, ",".join(by_host) or None):
        if target.host not in by_host:
            continue
        step(f"checking {target.host} at 127.0.0.1 ({by_host[target.host].stand.name})")
        by_host[target.host].checks = probe.run_checks(target, inventory=inventory)
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
    if any(s.address for s in stands) and leftover_network():
        raise container.ContainerError(
            f"the network of an earlier rehearsal exists: {fleet.NETWORK}; "
            f"remove it with: podman network rm -f {fleet.NETWORK}"
        )
    return Setup(inventory_dir, inventory, stands, vault, creds)


@dataclass
class Workspace:
    workdir: Path  # private (0700): the inventory copy, SSH key, known_hosts
    overlay: Path
    kept: Path | None = None
    creds: Credentials | None = None  # the inventory's probe account, else a throwaway one in the copy
    throwaway_probe: bool = False


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
            space.creds = setup.creds
            if setup.creds is None:
                # Only the private copy gets it (hash in its accounts.yml, password in memory).
                space.creds = create_throwaway(space.overlay)
                space.throwaway_probe = space.creds is not None
                if space.creds is not None:
                    step(f"no probe account: made a throwaway one, {space.creds.address}, in the private copy")
            yield space
    finally:
        if keep:
            space.kept = workdir
            network = f", the network {NETWORK.name}" if any(s.address for s in setup.stands) else ""
            step(f"kept {', '.join(s.name for s in setup.stands)}{network} and {workdir} (--keep)")
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
    result = Rehearsal(outcomes)
    with workspace(setup, keep, step) as space:
        result.has_probe_account = space.creds is not None
        result.throwaway_probe = space.creds.address if space.throwaway_probe and space.creds else None
        start_containers(setup.stands, space.workdir, step)
        step("deploying site.yml to the containers")
        result.deploy = deploy(space.overlay, space.workdir, setup.vault, verbosity, on_event)
        for outcome in outcomes:
            outcome.deploy = result.deploy.progress.hosts.get(outcome.stand.host)
            outcome.failures = [f for f in result.deploy.progress.failures if f.host == outcome.stand.host]
        check_hosts(space.overlay, outcomes, space.creds, step)
    result.kept = space.kept
    return result
