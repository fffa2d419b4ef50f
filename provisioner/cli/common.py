"""What every command shares: the inventory option, input of passwords, errors and exit codes."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from provisioner.inventory.model import Inventory
from provisioner.inventory.names import InvalidName
from provisioner.inventory.passwords import UnrecognisedHash
from provisioner.inventory.store import default_inventory, load_inventory
from provisioner.problems import InventoryInvalid, UsageError, clip

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

# Foreseeable mistakes of the user: a clear message and exit code 2, never a traceback.
BAD_INPUT_ERRORS = (UsageError, InvalidName, UnrecognisedHash)


def inventory_option(func: F) -> F:
    return click.option(
        "-i", "--inventory", "inventory_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=default_inventory,
        show_default="$MAILPROV_INVENTORY, else ./inventory",
        help="Inventory folder.",
    )(func)


json_option = click.option("--json", "as_json", is_flag=True, help="Print a JSON summary (for CI).")


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    click.echo(f"mailprov: {clip(message, 500)}", err=True)
    sys.exit(code)


def report_invalid(err: InventoryInvalid) -> NoReturn:
    for problem in err.problems:
        click.echo(str(problem), err=True)
    count = len(err.problems)
    click.echo(f"mailprov: the inventory has {count} problem{'s' if count != 1 else ''}; "
               "nothing was changed", err=True)
    sys.exit(EXIT_BAD_INPUT)


def load_or_exit(inventory_dir: Path) -> Inventory:
    """Validate first: every command stops here, before touching a host or a file."""
    try:
        return load_inventory(inventory_dir)
    except InventoryInvalid as err:
        report_invalid(err)


def read_password(password_stdin: bool) -> str:
    if password_stdin:
        try:
            line = sys.stdin.readline().rstrip("\r\n")
        except UnicodeDecodeError:  # a strict UTF-8 stdin; others hand over lone surrogates
            fail(_NOT_UTF8)
        if not line:
            fail("no password on standard input")
        return _checked_password(line)
    if not sys.stdin.isatty():
        fail("standard input is not a terminal: pass --password-stdin and pipe the password in")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat password")
    if not password:
        fail("the password is empty")
    return _checked_password(password)


_NOT_UTF8 = "the password is not UTF-8 text: pipe it in as UTF-8 (or set a UTF-8 locale)"


def _checked_password(password: str) -> str:
    """Undecodable bytes arrive as lone surrogates: refuse them rather than hash something else."""
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        fail(_NOT_UTF8)
    if "\0" in password:
        fail("the password contains a NUL character, which Dovecot's tools cannot pass on")
    return password


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True))


class MailprovGroup(click.Group):
    """Turns foreseeable errors into a one-line message and the documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InventoryInvalid as err:
            report_invalid(err)
        except BAD_INPUT_ERRORS as err:
            fail(str(err))
        except OSError as err:
            fail(f"{err.strerror or err}: {err.filename or ''}".rstrip(": "), EXIT_FAILED)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as err:
            if os.environ.get("MAILPROV_DEBUG"):
                raise
            fail(f"unexpected error: {type(err).__name__}: {err} (set MAILPROV_DEBUG=1 for details)",
                 EXIT_FAILED)
