"""`mailprov domain move DOMAIN --to HOST`: a domain's mailboxes to another mailbox back end
while mail keeps flowing, nothing lost (docs/fleet.md, "Moving a domain").

The steps, each an Ansible run; a move that stopped half-way is resumed by the same command
(accounts.yml records it as ``previous_backend``):

1. accounts.yml: ``backend: HOST``, ``previous_backend: OLD`` (validated, nothing else changes);
2. the two back ends' accounts (``--tags accounts``): the new one holds the domain's accounts,
   the old one keeps them; the fronts still deliver to the old one;
3. dsync, first pass: the new back end becomes an exact copy (UIDVALIDITY and UIDs kept, so
   mail clients do not download everything again);
4. the whole fleet deployed: fronts deliver to and proxy to the new back end from now on;
5. dsync, final pass: a two-way merge takes over what reached the old back end meanwhile;
6. accounts.yml: ``previous_backend`` removed; the old back end's accounts of the domain go.
   Its mail stays on its disk (DOMAIN under the mail store) until the operator removes it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.inventory.store import edit_accounts, load_inventory
from provisioner.problems import UsageError
from provisioner.runner.options import AnsibleOptions, PlaybookRun
from provisioner.runner.run import EventSink, RunResult, execute, playbook_path

Step = Callable[[str], None]
MAILBOX_GROUP = "mailbox"


@dataclass(frozen=True)
class Move:
    domain: str
    source: str
    target: str


def plan(inventory_dir: Path, domain: str, target: str) -> Move:
    """The move, or UsageError when it cannot be made (nothing touched yet)."""
    inventory = load_inventory(inventory_dir)
    entry = inventory.domain(domain)
    if entry is None:
        raise UsageError(f"{domain}: no such domain in the inventory (see `mailprov domain list`)")
    backends = {h.name for h in inventory.with_function(MAILBOX_GROUP)} if inventory.is_fleet else set()
    if not backends:
        raise UsageError("domain move: the inventory has no mailbox group (docs/fleet.md)")
    if target not in backends:
        raise UsageError(f"--to: {target} is not a host of the mailbox group (one of {', '.join(sorted(backends))})")
    holder = inventory.backend_of(entry)
    current = holder.name if holder is not None else sorted(backends)[0]
    previous = entry.previous_backend
    if previous and current == target:
        return Move(domain, previous, target)  # resume a move that stopped half-way
    if previous:
        raise UsageError(f"{domain} is being moved from {previous} to {current}: finish that first "
                         f"(mailprov domain move {domain} --to {current})")
    if current == target:
        raise UsageError(f"{domain} is on {target} already")
    return Move(domain, current, target)


def _set_backend(inventory_dir: Path, move: Move, *, moving: bool) -> None:
    with edit_accounts(inventory_dir) as domains:
        entry = next(d for d in domains if d.get("name") == move.domain)
        entry["backend"] = move.target
        if moving:
            entry["previous_backend"] = move.source
        else:
            entry.pop("previous_backend", None)


@contextmanager
def _private_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="mailprov-move-"))  # 0700: the mail passes through it
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run(inventory_dir: Path, move: Move, step: Step, on_event: EventSink | None = None) -> RunResult:
    """All the steps; stops at the first run that fails (its result is returned)."""

    def ansible(playbook: str, label: str, **options: Any) -> RunResult:
        step(label)
        return execute(PlaybookRun(playbook_path(playbook), inventory_dir, AnsibleOptions(**options)), on_event)

    both = f"{move.source},{move.target}"
    _set_backend(inventory_dir, move, moving=True)
    step(f"accounts.yml: {move.domain} backend {move.target}, previous_backend {move.source}")
    with _private_dir() as workdir:
        passes = {p: (f"mail_move_domain={move.domain}", f"mail_move_pass={p}", f"mail_move_workdir={workdir}")
                  for p in ("first", "final")}
        runs: list[tuple[str, str, dict[str, Any]]] = [
            ("site.yml", f"accounts of {move.domain} on {move.target} (and still on {move.source})",
             {"limit": both, "tags": ("accounts",)}),
            ("move_domain.yml", f"dsync {move.source} -> {move.target}: exact copy",
             {"limit": both, "extra_vars": passes["first"]}),
            ("site.yml", f"the fleet deployed: {move.domain} delivered to {move.target} from now on", {}),
            # Not limited: the mx fronts first finish their deliveries for the domain.
            ("move_domain.yml", f"dsync {move.source} <-> {move.target}: what arrived meanwhile",
             {"extra_vars": passes["final"]}),
        ]
        for playbook, label, options in runs:
            result = ansible(playbook, label, **options)
            if result.rc != 0:
                return result
    _set_backend(inventory_dir, move, moving=False)
    step(f"accounts.yml: {move.domain} moved (previous_backend removed)")
    return ansible("site.yml", f"{move.domain}'s accounts removed from {move.source}",
                   limit=move.source, tags=("accounts",))
