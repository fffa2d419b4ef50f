"""`mailprov rehearse --upgrade-from REF`: the upgrade from an earlier mailprov, on throwaway containers.

Same containers, private inventory copy and vault as a plain rehearsal
(:mod:`provisioner.rehearse.rehearsal`), then per host:

1. converge with the earlier release's deploy files (:mod:`provisioner.rehearse.upgrade_source`);
2. send a few messages to a few mailboxes over port 25 and wait until each
   can be read over IMAP (:mod:`provisioner.rehearse.upgrade_mail`);
3. snapshot the configuration files (:mod:`provisioner.rehearse.config_snapshot`);
4. converge with the current roles, snapshot again; every message must still
   be readable, every `mailprov check` probe must pass, and a third converge
   must change nothing;
5. report which configuration files the upgrade changed.

A phase runs on a host only when the phases before it passed there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from provisioner.inventory.probe_account import Credentials
from provisioner.inventory.store import load_inventory
from provisioner.probe import checks as probe
from provisioner.rehearse import config_snapshot, upgrade_mail
from provisioner.rehearse.config_snapshot import FileChange, Snapshot
from provisioner.rehearse.overlay import Stand
from provisioner.rehearse.rehearsal import (
    HostOutcome,
    Setup,
    Step,
    Workspace,
    check_hosts,
    deploy,
    prepare,
    start_containers,
    workspace,
)
from provisioner.rehearse.upgrade_source import Source, extract, resolve
from provisioner.runner.progress import Failure, HostCounts
from provisioner.runner.run import EventSink, RunResult
from provisioner.sandbox import container

BUNDLE_DIR = "upgrade-from"
READ_AGAIN_TIMEOUT = 30.0  # delivered before the upgrade: no queue to wait for


@dataclass
class Converge:
    """One site.yml run on one host."""

    counts: HostCounts | None = None  # None: not run on this host
    failures: list[Failure] = field(default_factory=list)
    changed_tasks: list[str] = field(default_factory=list)

    @property
    def ran(self) -> bool:
        return self.counts is not None

    @property
    def ok(self) -> bool:
        return self.counts is not None and not self.counts.failed and not self.counts.unreachable


@dataclass
class UpgradeOutcome:
    stand: Stand
    old: Converge = field(default_factory=Converge)
    sent: list[upgrade_mail.Sent] = field(default_factory=list)
    delivered: set[str] = field(default_factory=set)  # readable before the upgrade
    mail_errors: list[str] = field(default_factory=list)
    new: Converge = field(default_factory=Converge)
    readable: set[str] = field(default_factory=set)  # readable after the upgrade
    read_errors: list[str] = field(default_factory=list)
    checks: HostOutcome | None = None
    again: Converge = field(default_factory=Converge)
    config: list[FileChange] | None = None  # None: not compared
    snapshot_error: str | None = None

    @property
    def mail_ok(self) -> bool:
        return bool(self.sent) and not self.mail_errors and len(self.delivered) == len(self.sent)

    @property
    def read_ok(self) -> bool:
        return self.mail_ok and len(self.readable) == len(self.sent) and not self.read_errors

    @property
    def checks_ok(self) -> bool:
        return self.checks is not None and self.checks.checked and not self.checks.checks_failed

    @property
    def idempotent(self) -> bool:
        return self.again.ok and self.again.counts is not None and self.again.counts.changed == 0

    @property
    def ok(self) -> bool:
        return (
            self.old.ok
            and self.mail_ok
            and self.new.ok
            and self.read_ok
            and self.checks_ok
            and self.idempotent
            and self.config is not None
        )


@dataclass
class UpgradeRehearsal:
    source: Source
    outcomes: list[UpgradeOutcome]
    mailboxes: list[str] = field(default_factory=list)  # addresses written to (never passwords)
    runs: list[tuple[str, RunResult]] = field(default_factory=list)  # phase name, result
    kept: Path | None = None
    has_probe_account: bool = True

    @property
    def ok(self) -> bool:
        return bool(self.outcomes) and all(o.ok for o in self.outcomes)


def _per_host(result: RunResult, hosts: Sequence[str]) -> dict[str, Converge]:
    progress = result.progress
    return {
        host: Converge(
            progress.hosts.get(host),
            [f for f in progress.failures if f.host == host],
            list(progress.changed_tasks.get(host, [])),
        )
        for host in hosts
    }


class _Phases:
    """The run's state shared by the phases: containers up, inventory copy written."""

    def __init__(
        self, setup: Setup, space: Workspace, result: UpgradeRehearsal, *, verbosity: int, step: Step,
        on_event: EventSink | None,
    ) -> None:
        self.setup, self.space, self.result = setup, space, result
        self.verbosity, self.step, self.on_event = verbosity, step, on_event
        self.targets = {t.host: t for t in probe.targets(load_inventory(space.overlay), None)}
        self.before: dict[str, Snapshot] = {}

    def converge(self, name: str, hosts: list[str], bundle: Path | None) -> dict[str, Converge]:
        """site.yml on ``hosts`` (none: not run); what it did on each."""
        if not hosts:
            return {}
        self.step(f"{name}: site.yml on {', '.join(hosts)}")
        run = deploy(
            self.space.overlay, self.space.workdir, self.setup.vault, self.verbosity, self.on_event,
            bundle=bundle, limit=",".join(hosts),
        )
        self.result.runs.append((name, run))
        return _per_host(run, hosts)

    def send_mail(self, boxes: list[Credentials], o: UpgradeOutcome) -> None:
        target = self.targets[o.stand.host]
        self.step(f"sending {upgrade_mail.MESSAGES_EACH} messages each to {len(boxes)} mailboxes on {o.stand.host}")
        o.sent, o.mail_errors = upgrade_mail.send(target, boxes)
        delivered, errors = upgrade_mail.readable(target, boxes, o.sent)
        o.delivered, o.mail_errors = delivered, o.mail_errors + errors

    def snapshot(self, o: UpgradeOutcome) -> Snapshot | None:
        try:
            return config_snapshot.take(o.stand.name)
        except container.ContainerError as err:
            o.snapshot_error = str(err)
            return None


def upgrade_rehearsal(
    inventory_dir: Path,
    ref: str,
    *,
    repo: Path | None = None,
    limit: str | None = None,
    keep: bool = False,
    verbosity: int = 0,
    step: Step = lambda _msg: None,
    on_event: EventSink | None = None,
) -> UpgradeRehearsal:
    """The whole upgrade rehearsal. REF and the set-up are checked before anything starts
    (UsageError for a bad REF, see also :func:`provisioner.rehearse.rehearsal.prepare`)."""
    source = resolve(ref, repo)
    setup = prepare(inventory_dir, limit)
    outcomes = [UpgradeOutcome(s) for s in setup.stands]
    result = UpgradeRehearsal(source, outcomes)
    with workspace(setup, keep, step) as space:
        result.has_probe_account = space.creds is not None
        bundle = extract(source, space.workdir / BUNDLE_DIR)
        step(f"upgrade from {source.label}")
        boxes = upgrade_mail.mailboxes_for(space.overlay, setup.inventory, space.creds)
        result.mailboxes = [b.address for b in boxes]
        start_containers(setup.stands, space.workdir, step)
        _run_phases(_Phases(setup, space, result, verbosity=verbosity, step=step, on_event=on_event), boxes, bundle)
    result.kept = space.kept
    return result


def _run_phases(phases: _Phases, boxes: list[Credentials], bundle: Path) -> None:
    outcomes = phases.result.outcomes
    old = phases.converge("old converge", [o.stand.host for o in outcomes], bundle)
    for o in outcomes:
        o.old = old.get(o.stand.host, o.old)
        if o.old.ok:
            if boxes:
                phases.send_mail(boxes, o)
            else:
                o.mail_errors.append("the inventory has no mailbox to send to")
            if o.mail_ok and (snap := phases.snapshot(o)) is not None:
                phases.before[o.stand.host] = snap
    new = phases.converge("new converge", list(phases.before), None)
    for o in outcomes:
        o.new = new.get(o.stand.host, o.new)
        if not o.new.ok:
            continue
        after = phases.snapshot(o)
        if after is not None:
            o.config = config_snapshot.compare(phases.before[o.stand.host], after)
        phases.step(f"reading the messages back on {o.stand.host}")
        o.readable, o.read_errors = upgrade_mail.readable(
            phases.targets[o.stand.host], boxes, o.sent, READ_AGAIN_TIMEOUT
        )
    checked = [HostOutcome(o.stand, deploy=o.new.counts) for o in outcomes if o.new.ok]
    check_hosts(phases.space.overlay, checked, phases.space.creds, phases.step)
    for host_checks in checked:
        next(o for o in outcomes if o.stand is host_checks.stand).checks = host_checks
    again = phases.converge("idempotence", [o.stand.host for o in outcomes if o.new.ok], None)
    for o in outcomes:
        o.again = again.get(o.stand.host, o.again)
