"""The inventory's Ansible Vault: its password file and the cipher every secret goes through.

The password comes from a file, never from argv or the environment's values:
``$MAILPROV_VAULT_PASSWORD_FILE``, else ``INVENTORY/.vault-password``. A new inventory gets a
random one (mode 600) the first time a secret is stored; this module is the only place that
makes it.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Any

from provisioner.inventory.store import write_atomically
from provisioner.problems import UsageError

VAULT_ENV = "MAILPROV_VAULT_PASSWORD_FILE"
VAULT_FILE_NAME = ".vault-password"


class VaultFileError(UsageError):
    """The vault password file exists but is unsafe or unreadable: the user's to fix (exit 2)."""


def find_vault_password_file(inventory: Path) -> Path | None:
    """The vault password file for ``inventory``, if any.

    Refuses a file other users can read: it unlocks every secret of the inventory.
    """
    configured = os.environ.get(VAULT_ENV)
    candidate = Path(configured) if configured else inventory / VAULT_FILE_NAME
    if not candidate.exists():
        if configured:
            raise VaultFileError(f"{VAULT_ENV}={configured}: no such file")
        return None
    mode = candidate.stat().st_mode
    if not stat.S_ISREG(mode):  # a FIFO would block every read of it
        raise VaultFileError(f"{candidate}: not a regular file; write the vault password into a plain file")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise VaultFileError(
            f"{candidate}: readable by others (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {candidate}"
        )
    return candidate.resolve()


def ensure_vault_password_file(inventory: Path) -> tuple[Path, bool]:
    """The inventory's vault password file, and whether it was just made (random, mode 600)."""
    existing = find_vault_password_file(inventory)
    if existing is not None:
        return existing, False
    path = inventory / VAULT_FILE_NAME
    write_atomically(path, secrets.token_urlsafe(32) + "\n")
    return path.resolve(), True


def _cipher(password_file: Path) -> Any:
    # Heavy import: only commands that touch the vault pay for it.
    from ansible.parsing.vault import VaultLib, VaultSecret  # type: ignore[import-untyped]  # noqa: PLC0415

    return VaultLib([("default", VaultSecret(password_file.read_bytes().strip()))])


def encrypt(plain: bytes, password_file: Path) -> bytes:
    """``plain`` as an Ansible Vault document (ASCII)."""
    encrypted: bytes = _cipher(password_file).encrypt(plain)
    return encrypted


def decrypt(encrypted: bytes, password_file: Path) -> bytes:
    """Raises one of Ansible's error types for a wrong password or a damaged file."""
    plain: bytes = _cipher(password_file).decrypt(encrypted)
    return plain
