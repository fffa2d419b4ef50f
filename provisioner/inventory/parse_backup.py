"""`mail_backup`: restic's repository, password and credentials (vault only), schedule and retention."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from provisioner.inventory.model import BACKUP_BACKENDS, BACKUP_SCHEDULES, Backup, BackupKeep
from provisioner.inventory.parse import BACKUP_KEEP_KEYS, BACKUP_KEYS, GROUP
from provisioner.inventory.reader import Collector, Reader, is_vault_value
from provisioner.problems import shown

# Environment variables restic reads for its back ends (AWS_ACCESS_KEY_ID, B2_ACCOUNT_KEY...).
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
# restic's own variables that mailprov sets itself: an inventory must not move them.
_OURS = ("RESTIC_REPOSITORY", "RESTIC_PASSWORD", "RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND")
_VAULT_FIX = 'put it in Ansible Vault and write password: "{{ vault_mail_backup_password }}"'


def parse_backup(group_vars: Mapping[str, tuple[str, Any]], out: Collector) -> tuple[bool, Backup | None]:
    """Whether mail_backup is valid, and the settings (None: no backups made)."""
    if "mail_backup" not in group_vars or group_vars["mail_backup"][1] is None:
        return True, None
    file, value = group_vars["mail_backup"]
    before = len(out.problems)
    reader = Reader(file, out)
    section = reader.mapping(value, "mail_backup", "a mapping with repository, password, schedule, keep")
    if section is None:
        return False, None
    reader.known_keys(section, "mail_backup", BACKUP_KEYS)
    repository = _repository(reader, section.get("repository"))
    password = section.get("password")
    if password is None:
        reader.problem("mail_backup.password", "missing", _VAULT_FIX)
    elif not is_vault_value(password):
        reader.problem("mail_backup.password", "a plaintext password", _VAULT_FIX)
    schedule = section.get("schedule", "daily")
    if schedule not in BACKUP_SCHEDULES:
        reader.problem("mail_backup.schedule", f"{shown(schedule)} is not a schedule",
                       f"use one of {', '.join(BACKUP_SCHEDULES)}")
    keep = _keep(reader, section.get("keep"))
    env = _env(reader, section.get("env"))
    if len(out.problems) > before or repository is None or keep is None or env is None:
        return False, None
    return True, Backup(repository, str(password), str(schedule), keep, env)


def _repository(reader: Reader, value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        reader.problem("mail_backup.repository", "missing" if value is None else f"{shown(value)} is not a repository",
                       "write a local path (/srv/backup/mail) or sftp:, s3:, rest:... (see docs/backup.md)")
        return None
    repo = value.strip()
    if not repo.startswith(("/", *BACKUP_BACKENDS)):
        reader.problem("mail_backup.repository", f"{shown(repo)} is neither an absolute path nor a restic back end",
                       f"write /path or one of {', '.join(BACKUP_BACKENDS)}")
        return None
    if re.search(r"://[^/@]*:[^/@]*@", repo):
        reader.problem("mail_backup.repository", "a password in the repository address",
                       "put credentials under mail_backup.env, as vault values")
        return None
    return repo


def _keep(reader: Reader, value: object) -> BackupKeep | None:
    if value is None:
        return BackupKeep()
    keep = reader.mapping(value, "mail_backup.keep", "a mapping with daily, weekly, monthly")
    if keep is None:
        return None
    reader.known_keys(keep, "mail_backup.keep", BACKUP_KEEP_KEYS)
    counts: dict[str, int] = {}
    for key in BACKUP_KEEP_KEYS:
        count = keep.get(key, getattr(BackupKeep, key))
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 1000:
            reader.problem(f"mail_backup.keep.{key}", f"{shown(count)} is not a number of snapshots",
                           "use a whole number from 0 to 1000")
            return None
        counts[key] = count
    if not any(counts.values()):
        reader.problem("mail_backup.keep", "keeps no snapshot at all", "keep at least one, e.g. daily: 7")
        return None
    return BackupKeep(**counts)


def _env(reader: Reader, value: object) -> dict[str, str] | None:
    if value is None:
        return {}
    env = reader.mapping(value, "mail_backup.env", f"a mapping of environment variables (vault values), in {GROUP}")
    if env is None:
        return None
    result: dict[str, str] = {}
    for name, secret in env.items():
        where = f"mail_backup.env.{name}"
        if not isinstance(name, str) or not _ENV_NAME.fullmatch(name) or name in _OURS:
            reader.problem(where, "not a back-end variable restic reads",
                           "use e.g. AWS_ACCESS_KEY_ID; mailprov sets RESTIC_* itself")
        elif not is_vault_value(secret):
            fix = f'put it in Ansible Vault: {name}: "{{{{ vault_{name.lower()} }}}}"'
            reader.problem(where, "a plaintext value", fix)
        else:
            result[name] = str(secret)
    return result
