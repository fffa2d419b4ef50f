"""Load, validate and rewrite an inventory folder.

Files are read with libyaml (fast); an edit is validated as a whole inventory, then only the
changed entries are rewritten in the file (yamlpatch), atomically and under a lock.
"""

from __future__ import annotations

import contextvars
import copy
import difflib
import fcntl
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from provisioner.inventory import fastyaml, yamlpatch
from provisioner.inventory.account_index import indexed
from provisioner.inventory.consistency import check_accounts, check_release
from provisioner.inventory.fleet import check_backends, check_hosts
from provisioner.inventory.model import Inventory
from provisioner.inventory.parse import ACCOUNTS_KEY, ENCRYPTED, GROUP, RawInventory, merged_group_vars, parse_hosts
from provisioner.inventory.parse_accounts import parse_domains
from provisioner.inventory.parse_backup import parse_backup
from provisioner.inventory.parse_settings import parse_settings
from provisioner.inventory.reader import Collector
from provisioner.problems import InventoryInvalid, Problem, clip

GROUP_VARS = Path("group_vars") / GROUP
ACCOUNTS_FILE = GROUP_VARS / "accounts.yml"
_VAULT_HEADER = "$ANSIBLE_VAULT;"


def default_inventory() -> Path:
    return Path(os.environ.get("MAILPROV_INVENTORY", "inventory"))


def _not_readable(path: Path, why: str, fix: str) -> InventoryInvalid:
    return InventoryInvalid([Problem(str(path), "(file)", why, fix)])


def read_text(path: Path) -> str:
    """A file's text, refusing anything but a regular file before reading (a FIFO would block)."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise _not_readable(path, f"not a regular file ({_kind_of(path)})",
                                "replace it with a plain YAML file")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # swapped since the check
                raise _not_readable(path, "not a regular file", "replace it with a plain YAML file")
            data = handle.read()
        return data.decode("utf-8")
    except OSError as err:
        raise _not_readable(path, f"cannot be read: {err.strerror or err}",
                            "check the file's permissions") from None
    except UnicodeDecodeError as err:
        raise _not_readable(path, f"not UTF-8 text (byte {err.start})", "save the file as UTF-8") from None


def _kind_of(path: Path) -> str:
    mode = path.stat().st_mode
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((name for test, name in kinds if test(mode)), "a special file")


def yaml_problem(path: Path, err: yaml.YAMLError) -> InventoryInvalid:
    mark = getattr(err, "problem_mark", None)
    where = f"line {mark.line + 1}" if mark is not None else "(file)"
    reason = getattr(err, "problem", None) or str(err).splitlines()[0]
    if isinstance(err, fastyaml.TooComplex):
        return InventoryInvalid([Problem(str(path), where, reason,
                                         "write the values out plainly, with fewer levels and aliases")])
    return InventoryInvalid([Problem(str(path), where, f"not valid YAML: {clip(reason, 120)}",
                                     "fix the YAML syntax there")])


def _read_yaml(path: Path) -> Any:
    text = read_text(path)
    if text.startswith(_VAULT_HEADER):
        return ENCRYPTED
    try:
        return fastyaml.load(text)
    except yaml.YAMLError as err:
        raise yaml_problem(path, err) from None


def group_var_files(root: Path) -> list[Path]:
    folder = root / GROUP_VARS
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def read_raw(root: Path) -> RawInventory:
    hosts_path = root / "hosts.yml"
    if not root.is_dir():
        raise InventoryInvalid([Problem(str(root), "(folder)", "no inventory here",
                                        "pass -i DIR, set MAILPROV_INVENTORY, or run `mailprov init DIR`")])
    if not hosts_path.exists():
        raise InventoryInvalid([Problem(str(hosts_path), "(file)", "missing",
                                        f"create it with the `{GROUP}` group, as `mailprov init` does")])
    _check_group_vars_layout(root)
    files = {str(p): _read_yaml(p) for p in group_var_files(root)}
    return RawInventory(root, _read_yaml(hosts_path), files, str(hosts_path))


def _check_group_vars_layout(root: Path) -> None:
    """group_vars/mailservers must be a folder; Ansible would also read a file in its place,
    or beside it, that mailprov neither checks nor edits."""
    problems = []
    for path in (root / "group_vars", root / GROUP_VARS):
        if path.exists() and not path.is_dir():
            problems.append(Problem(str(path), "(file)", "a file where mailprov expects a folder",
                                    f"move its variables into {GROUP_VARS / 'main.yml'}"))
    for name in (f"{GROUP}.yml", f"{GROUP}.yaml"):
        path = root / "group_vars" / name
        if path.exists():
            problems.append(Problem(str(path), "(file)", "Ansible reads it, but mailprov neither checks "
                                    "nor edits it", f"move its variables into {GROUP_VARS / 'main.yml'}"))
    if problems:
        raise InventoryInvalid(problems)


def build(raw: RawInventory) -> Inventory:
    """The validated model of a raw inventory, or InventoryInvalid listing every problem."""
    out = Collector()
    hosts, is_fleet = parse_hosts(raw, out)
    group_vars = merged_group_vars(raw, out)
    settings = parse_settings(raw, group_vars, hosts, out)
    if is_fleet:
        default = settings.mail_hostname if settings is not None else ""
        check_hosts(raw.hosts_file, hosts, {h.name: str(h.vars.get("mail_hostname", default)) for h in hosts}, out)
        if settings is not None and settings.tls.mode == "acme":
            tls_file = group_vars.get("mail_tls", (raw.hosts_file, None))[0]
            out.add(tls_file, "mail_tls.mode", "acme in a fleet: mailbox back ends are not reachable for the "
                    "CA's challenge, and fronts check their certificates", "use selfsigned (each front trusts "
                    "exactly the back ends' certificates) or files (docs/fleet.md)")
    backup_ok, backup = parse_backup(group_vars, out)
    if raw.group_files.get(str(raw.root / ACCOUNTS_FILE)) is ENCRYPTED:
        out.add(str(raw.root / ACCOUNTS_FILE), "(file)",
                "encrypted with Ansible Vault, so mailprov can neither check nor edit the accounts",
                "keep it in plaintext (it holds only password hashes): ansible-vault decrypt it")
    accounts_file, accounts = group_vars.get(ACCOUNTS_KEY, (str(raw.root / ACCOUNTS_FILE), None))
    domains = parse_domains(accounts_file, accounts, out)
    if domains is not None:
        check_accounts(accounts_file, domains, out)
        check_release(accounts_file, hosts, domains, out)
        check_backends(accounts_file, hosts, is_fleet, domains, out)
    if out.problems or settings is None or domains is None or not backup_ok:
        raise InventoryInvalid(out.problems)
    return Inventory(raw.root, hosts, replace(settings, backup=backup), domains, is_fleet)


def load_inventory(root: Path) -> Inventory:
    return build(read_raw(root))


@contextmanager
def locked(root: Path) -> Iterator[None]:
    """Serialise writers: flock on the folder itself leaves no lock file behind."""
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# -- dry runs: every edit computes its new text, and none is written ------------------------------

_DRY_RUN: contextvars.ContextVar[bool] = contextvars.ContextVar("mailprov_dry_run", default=False)
_SECRET_VALUE = re.compile(r"(\bpassword:\s*)(\"[^\"]*\"|'[^']*'|[^\s,}]+)")


class DryRun(Exception):
    """Raised where a dry-run edit would have written the file: its unified diff (no secrets)."""

    def __init__(self, path: Path, diff: str) -> None:
        super().__init__(f"dry run: {path}")
        self.path = path
        self.diff = diff


@contextmanager
def dry_run(enabled: bool = True) -> Iterator[None]:
    """Within: edits are validated as usual, then raise :class:`DryRun` instead of writing;
    side files (vault password, vault files) are not written either."""
    token = _DRY_RUN.set(enabled)
    try:
        yield
    finally:
        _DRY_RUN.reset(token)


def is_dry_run() -> bool:
    return _DRY_RUN.get()


def unified_diff(path: Path, old: str, new: str) -> str:
    """The diff of an edit, with password values (hashes, vault references) masked."""
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=str(path), tofile=f"{path} (after the edit)")
    return "".join(_SECRET_VALUE.sub(r"\1<not shown>", line) for line in lines)


def write_atomically(path: Path, text: str) -> None:
    """Replace a file in one step: readers see the old or the new content, never half.

    Under :func:`dry_run`, nothing is written.
    """
    if is_dry_run():
        return
    # A new file holds password hashes: readable by its owner only, like a vault.
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


@contextmanager
def edit_accounts(root: Path) -> Iterator[list[Any]]:
    """Yield the `mail_domains` list as plain data; on exit validate everything, then write.

    If the body raises, or the edited inventory would be invalid, nothing is written. Only the
    entries that changed are rewritten in the file (see yamlpatch), so comments, order and
    quoting stay as the operator wrote them.
    """
    with locked(root):
        raw = read_raw(root)
        build(raw)  # an already broken inventory is reported as it is, not as the edit's fault
        path = _accounts_path(raw)
        old = raw.group_files.get(str(path))
        document = copy.deepcopy(old) if isinstance(old, dict) else {}
        if document.get(ACCOUNTS_KEY) is None:
            document[ACCOUNTS_KEY] = []
        with indexed(document[ACCOUNTS_KEY]):
            yield document[ACCOUNTS_KEY]
        build(replace(raw, group_files={**raw.group_files, str(path): document}))
        rewrite_file(path, old, document)


def rewrite_file(path: Path, old: Any, new: Any) -> None:
    """Write `new` into the file that held `old`, changing as few lines as possible."""
    text = read_text(path) if path.exists() else ""
    try:
        written = yamlpatch.rewrite(text, old, new)
    except yaml.YAMLError as err:
        raise yaml_problem(path, err) from None
    except yamlpatch.SharedValue as err:
        raise InventoryInvalid([Problem(str(path), f"line {err.line}", str(err), err.fix)]) from None
    if is_dry_run():
        raise DryRun(path, unified_diff(path, text, written))
    write_atomically(path, written)


def _accounts_path(raw: RawInventory) -> Path:
    """The file that holds mail_domains, else accounts.yml beside the settings."""
    for name, data in raw.group_files.items():
        if isinstance(data, dict) and ACCOUNTS_KEY in data:
            return Path(name)
    return raw.root / ACCOUNTS_FILE
