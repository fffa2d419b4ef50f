"""Secrets in `group_vars/mailservers/vault.yml`, an Ansible Vault file encrypted whole.

Encryption uses ansible-core's Python API with the inventory's vault password file (found as
`provisioner.inventory.vault` finds it; created with a random password, mode 600, when there is none),
so a secret never appears on a command line. The file is decrypted, one key changed, and
re-encrypted; other keys and comments are kept. Values are written `!unsafe`, so a password
holding `{{` is never templated by Ansible.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, TaggedScalar

from provisioner.inventory import fastyaml
from provisioner.inventory.store import GROUP_VARS, write_atomically
from provisioner.inventory.vault import (
    VAULT_ENV,
    VaultFileError,
    decrypt,
    encrypt,
    ensure_vault_password_file,
    find_vault_password_file,
)
from provisioner.problems import UsageError, clip

VAULT_VARS_FILE = GROUP_VARS / "vault.yml"
_HEADER = b"$ANSIBLE_VAULT;"


def vault_path(inventory: Path) -> Path:
    return inventory / VAULT_VARS_FILE


def password_file(inventory: Path, create: bool) -> tuple[Path | None, bool]:
    """The vault password file and whether it was just created (only when `create`)."""
    try:
        if create:
            return ensure_vault_password_file(inventory)
        return find_vault_password_file(inventory), False
    except VaultFileError as err:
        raise UsageError(str(err)) from None


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    return yaml


def _load(inventory: Path, secret_file: Path) -> CommentedMap:
    path = vault_path(inventory)
    if not path.exists():
        return CommentedMap()
    encrypted = path.read_bytes()
    if not encrypted.startswith(_HEADER):
        raise UsageError(f"{path}: not encrypted with Ansible Vault; encrypt it first "
                         f"(ansible-vault encrypt {path}) so secrets are never kept in plaintext")
    try:
        plain = decrypt(encrypted, secret_file)
    except Exception as exc:  # Ansible raises several error types for a wrong password
        raise UsageError(f"{path}: cannot decrypt with {secret_file} ({type(exc).__name__}); "
                         f"wrong vault password? (set {VAULT_ENV})") from None
    try:
        text = plain.decode("utf-8")
        fastyaml.compose(text)  # the bounds on nesting and aliases, before ruamel.yaml builds it
    except (UnicodeDecodeError, yaml.YAMLError) as err:
        raise UsageError(f"{path}: not a YAML mapping mailprov can edit ({clip(str(err).splitlines()[0])})") from None
    data = _yaml().load(text)
    if data is None:
        return CommentedMap()
    if not isinstance(data, CommentedMap):
        raise UsageError(f"{path}: expected a mapping of variables")
    return data


def _store(inventory: Path, secret_file: Path, data: CommentedMap) -> None:
    path = vault_path(inventory)
    if not data:
        path.unlink(missing_ok=True)
        return
    stream = io.StringIO()
    _yaml().dump(data, stream)
    encrypted = encrypt(stream.getvalue().encode("utf-8"), secret_file)
    write_atomically(path, encrypted.decode("ascii"))


def set_secret(inventory: Path, key: str, value: str, secret_file: Path) -> None:
    """Store `key: !unsafe value` in vault.yml (created, mode 600, when missing)."""
    data = _load(inventory, secret_file)
    data[key] = TaggedScalar(value=value, style="'", tag="!unsafe")
    _store(inventory, secret_file, data)


def remove_secret(inventory: Path, key: str) -> bool:
    """Remove `key` from vault.yml (the file goes when it is left empty); whether it was there."""
    secret_file, _ = password_file(inventory, create=False)
    if secret_file is None or not vault_path(inventory).exists():
        return False
    data = _load(inventory, secret_file)
    if key not in data:
        return False
    del data[key]
    _store(inventory, secret_file, data)
    return True


def read_secret(inventory: Path, key: str) -> Any:
    """The value of `key` in vault.yml, or None (for tests and diagnostics; never printed)."""
    secret_file, _ = password_file(inventory, create=False)
    if secret_file is None:
        return None
    value = _load(inventory, secret_file).get(key)
    return getattr(value, "value", value)
