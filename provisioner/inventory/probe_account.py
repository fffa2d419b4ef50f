"""The probe account `mailprov check` logs in with.

It is an ordinary mailbox of the inventory (accounts.yml holds its hash, the
deploy maintains it like any other). Its plaintext password lives only in an
Ansible Vault file in the inventory folder, ``INVENTORY/.probe-account.vault``,
encrypted with the inventory's vault password (see ``provisioner.inventory.vault``).
That file is outside group_vars, so Ansible never loads it.

:func:`create` makes both for any inventory (`mailprov probe-account create`,
and the sandbox at its first `up`).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.inventory.accounts import add_mailbox, set_password
from provisioner.inventory.passwords import hash_password
from provisioner.inventory.store import edit_accounts, is_dry_run, write_atomically
from provisioner.inventory.vault import decrypt, encrypt, ensure_vault_password_file, find_vault_password_file
from provisioner.problems import UsageError

# Hidden: Ansible reads every other file of an inventory folder as an inventory source.
PROBE_FILE_NAME = ".probe-account.vault"
PROBE_LOCAL_PART = "mailprov-probe"
PROBE_QUOTA = "100M"


class ProbeAccountError(Exception):
    """The probe account file exists but cannot be used."""


@dataclass(frozen=True)
class Credentials:
    address: str
    password: str = field(repr=False)


def load(inventory: Path) -> Credentials | None:
    """The probe account of ``inventory``, or None when it has none."""
    path = inventory / PROBE_FILE_NAME
    if not path.exists():
        return None
    password_file = find_vault_password_file(inventory)
    if password_file is None:
        raise ProbeAccountError(
            f"{path}: needs the vault password (set MAILPROV_VAULT_PASSWORD_FILE "
            f"or create {inventory / '.vault-password'} with mode 600)"
        )
    try:
        plain = decrypt(path.read_bytes(), password_file)
        data = json.loads(plain)
        return Credentials(address=str(data["address"]), password=str(data["password"]))
    except Exception as exc:  # Ansible raises several error types for a wrong password
        raise ProbeAccountError(
            f"{path}: cannot decrypt ({type(exc).__name__}); wrong vault password?"
        ) from exc


def store(inventory: Path, creds: Credentials, password_file: Path) -> Path:
    """Write the encrypted probe account file (mode 600)."""
    payload = json.dumps({"address": creds.address, "password": creds.password}).encode()
    path = inventory / PROBE_FILE_NAME
    write_atomically(path, encrypt(payload, password_file).decode("ascii"))
    return path


def create(inventory: Path, address: str | None = None) -> Credentials:
    """Add the probe mailbox (default ``mailprov-probe@<first domain>``) with a random
    password: its hash into accounts.yml, the password only into the vault file.

    Nothing is written when the inventory has a probe account already or the
    edit would make it invalid (e.g. the mailbox exists).
    """
    path = inventory / PROBE_FILE_NAME
    if path.exists():
        raise UsageError(f"{path} exists: this inventory has a probe account already")
    password = secrets.token_urlsafe(24)
    try:
        with edit_accounts(inventory) as domains:
            address = address or _default_address(domains)
            creds = Credentials(add_mailbox(domains, address, hash_password(password), PROBE_QUOTA), password)
            if not is_dry_run():  # a dry run writes no vault file (nor the vault password)
                store(inventory, creds, ensure_vault_password_file(inventory)[0])
    except BaseException:
        path.unlink(missing_ok=True)  # ours: it did not exist before; accounts.yml was not written
        raise
    return creds


def _default_address(domains: list[Any]) -> str:
    if not domains:
        raise UsageError("no mail domain yet; add one with `mailprov domain add DOMAIN`")
    return f"{PROBE_LOCAL_PART}@{domains[0].get('name')}"


def create_throwaway(inventory: Path) -> Credentials | None:
    """A probe mailbox with a random password for a PRIVATE inventory copy (`rehearse`).

    Only its hash is written (into the copy's accounts.yml); the password stays in memory,
    no vault file is made. An existing ``mailprov-probe@`` mailbox gets the new password.
    None when the inventory has no mail domain (nothing to log in to).
    """
    password = secrets.token_urlsafe(24)
    with edit_accounts(inventory) as domains:
        if not domains:
            return None
        address = _default_address(domains)
        try:
            add_mailbox(domains, address, hash_password(password), PROBE_QUOTA)
        except UsageError:  # the mailbox exists (its password file was lost): take it over
            set_password(domains, address, hash_password(password))
    return Credentials(address, password)
