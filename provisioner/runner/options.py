"""The Ansible options every mailprov command that runs Ansible shares.

Defined once (kolla's ``add_ansible_args``): one :class:`AnsibleOptions` value,
which turns into an argv list (for display and golden tests) and into
ansible-runner keyword arguments. The click options that fill it live in
``provisioner.cli.ansible_options``. Nothing here runs Ansible.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class AnsibleOptions:
    """What the user asked Ansible to do, independent of the playbook."""

    limit: str | None = None
    tags: tuple[str, ...] = ()
    check: bool = False
    diff: bool = False
    # Each item is passed to `-e` as is: `@/abs/file.yml`, `key=value` or JSON.
    # (`@relative` is made absolute at parse time, see ``provisioner.cli.ansible_options``.)
    extra_vars: tuple[str, ...] = ()
    verbosity: int = 0
    vault_password_file: Path | None = None

    def flags(self) -> list[str]:
        """The options as argv items, in a fixed order (stable for golden tests)."""
        argv: list[str] = []
        if self.limit:
            argv += ["--limit", self.limit]
        if self.tags:
            argv += ["--tags", ",".join(self.tags)]
        if self.check:
            argv.append("--check")
        if self.diff:
            argv.append("--diff")
        for item in self.extra_vars:
            argv += ["-e", item]
        if self.vault_password_file is not None:
            # A path, never the secret itself: nothing secret reaches argv.
            argv += ["--vault-password-file", str(self.vault_password_file)]
        if self.verbosity:
            argv.append("-" + "v" * min(self.verbosity, 6))
        return argv


@dataclass(frozen=True)
class PlaybookRun:
    """One ansible-playbook invocation: playbook + inventory + options.

    ``bundle``: a folder with another release's roles/ and ansible.cfg that the
    run uses instead of ours (`rehearse --upgrade-from`); it changes the
    environment, not the argv.
    """

    playbook: Path
    inventory: Path
    options: AnsibleOptions = field(default_factory=AnsibleOptions)
    bundle: Path | None = None

    def argv(self) -> list[str]:
        """The equivalent command line, as a list (shown with -v, tested golden)."""
        return [
            "ansible-playbook",
            "-i",
            str(self.inventory),
            *self.options.flags(),
            str(self.playbook),
        ]

    def runner_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``ansible_runner.run`` that produce :meth:`argv`.

        ansible-runner takes extra options as one string that it splits with
        shlex; ``shlex.join`` of our list makes that round trip exact.
        """
        kwargs: dict[str, Any] = {
            "playbook": str(self.playbook),
            "inventory": str(self.inventory),
        }
        flags = self.options.flags()
        if flags:
            kwargs["cmdline"] = shlex.join(flags)
        return kwargs
