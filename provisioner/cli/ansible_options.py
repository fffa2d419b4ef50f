"""The click options for the shared Ansible options (``-l -t --check --diff -e -v``).

They fold into one :class:`provisioner.runner.options.AnsibleOptions`; the
inventory option (``-i``) is the CLI-wide one from ``provisioner.cli.common``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from provisioner.runner.options import AnsibleOptions

F = TypeVar("F", bound=Callable[..., Any])


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
