"""The Ansible options every mailprov command that runs Ansible shares.

Defined once (kolla's ``add_ansible_args``): a click decorator adds them and
folds them into one :class:`AnsibleOptions` value, which turns into an argv
list (for display and golden tests) and into ansible-runner keyword
arguments. Nothing here runs Ansible.
"""

from __future__ import annotations

import functools
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class AnsibleOptions:
    """What the user asked Ansible to do, independent of the playbook."""

    limit: str | None = None
    tags: tuple[str, ...] = ()
    check: bool = False
    diff: bool = False
    # Each item is passed to `-e` as is: `@/abs/file.yml`, `key=value` or JSON.
    # (`@relative` is made absolute at parse time, see :func:`resolve_extra_vars`.)
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
    """One ansible-playbook invocation: playbook + inventory + options."""

    playbook: Path
    inventory: Path
    options: AnsibleOptions = field(default_factory=AnsibleOptions)

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


def _split_tags(values: tuple[str, ...]) -> tuple[str, ...]:
    """`-t a,b -t c` -> ("a", "b", "c"), order kept, duplicates dropped."""
    tags = [t.strip() for v in values for t in v.split(",") if t.strip()]
    return tuple(dict.fromkeys(tags))


def resolve_extra_vars(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """Click callback: `-e @FILE` with FILE made absolute; other items unchanged.

    ansible-runner starts ansible-playbook inside its private data dir, where
    a relative `@extra.yml` would be looked up. A missing file is a usage
    error here (exit 2), before anything runs.
    """
    return tuple(_absolute_file(item) if item.startswith("@") else item for item in values)


def _absolute_file(item: str) -> str:
    path = Path(item[1:]).expanduser()
    if not path.is_file():
        raise click.BadParameter(f"{item[1:]}: no such file")
    return "@" + str(path.resolve())


def ansible_options(func: F) -> F:
    """Add the shared Ansible options to a click command.

    The command receives them as one keyword argument, ``ansible``
    (an :class:`AnsibleOptions`). The inventory option (``-i``) is the
    CLI-wide one from ``provisioner.cli.common``; the vault password file is
    resolved later from the inventory (see ``provisioner.runner.run``).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["ansible"] = AnsibleOptions(
            limit=kwargs.pop("limit") or None,
            tags=_split_tags(kwargs.pop("tags")),
            check=kwargs.pop("check"),
            diff=kwargs.pop("diff"),
            extra_vars=tuple(kwargs.pop("extra_vars")),
            verbosity=kwargs.pop("verbose"),
        )
        return func(*args, **kwargs)

    decorators = [
        click.option(
            "-l", "--limit", metavar="PATTERN", help="Only these hosts (Ansible host pattern)."
        ),
        click.option(
            "-t",
            "--tags",
            multiple=True,
            metavar="TAGS",
            help="Only tasks with these tags (comma-separated; repeatable).",
        ),
        click.option("--check", is_flag=True, help="Show what would change; change nothing."),
        click.option("--diff", is_flag=True, help="Show file and account differences."),
        click.option(
            "-e",
            "--extra-vars",
            "extra_vars",
            multiple=True,
            callback=resolve_extra_vars,
            metavar="@FILE|K=V",
            help="Extra variables, as for ansible-playbook (prefer @FILE for secrets).",
        ),
        click.option("-v", "--verbose", count=True, help="More Ansible output (repeat: -vvv)."),
    ]
    result: Callable[..., Any] = wrapper
    for decorate in reversed(decorators):
        result = decorate(result)
    return result  # type: ignore[return-value]
