"""Load, validate and rewrite an inventory folder.

Files are read with ruamel.yaml's round-trip loader so an edit keeps comments, key order and
formatting; a rewrite is validated whole first, then written atomically under a lock.
"""

from __future__ import annotations

import fcntl
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from provisioner import fastyaml
from provisioner.consistency import check_accounts
from provisioner.model import Inventory
from provisioner.parse import (
    ACCOUNTS_KEY,
    GROUP,
    Collector,
    RawInventory,
    merged_group_vars,
    parse_domains,
    parse_hosts,
    parse_settings,
)
from provisioner.problems import InventoryInvalid, Problem

GROUP_VARS = Path("group_vars") / GROUP
ACCOUNTS_FILE = GROUP_VARS / "accounts.yml"
_VAULT_HEADER = "$ANSIBLE_VAULT;"


def default_inventory() -> Path:
    return Path(os.environ.get("MAILPROV_INVENTORY", "inventory"))


def yaml_rt() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _read_yaml(path: Path, round_trip: bool) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InventoryInvalid([Problem(str(path), "(file)", f"cannot be read: {err}",
                                        "check the file's permissions and encoding")]) from None
    if text.startswith(_VAULT_HEADER):
        return None
    try:
        return yaml_rt().load(text) if round_trip else fastyaml.load(text)
    except (YAMLError, yaml.YAMLError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        reason = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InventoryInvalid([Problem(str(path), where, f"not valid YAML: {reason}",
                                        "fix the YAML syntax there")]) from None


def group_var_files(root: Path) -> list[Path]:
    folder = root / GROUP_VARS
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def read_raw(root: Path, round_trip: bool = False) -> RawInventory:
    """The inventory's documents; round_trip=True keeps what an edit must write back."""
    hosts_path = root / "hosts.yml"
    if not root.is_dir():
        raise InventoryInvalid([Problem(str(root), "(folder)", "no inventory here",
                                        "pass -i DIR, set MAILPROV_INVENTORY, or run `mailprov init DIR`")])
    if not hosts_path.is_file():
        raise InventoryInvalid([Problem(str(hosts_path), "(file)", "missing",
                                        f"create it with the `{GROUP}` group, as `mailprov init` does")])
    files = {str(p): _read_yaml(p, round_trip) for p in group_var_files(root)}
    return RawInventory(root, _read_yaml(hosts_path, False), files, str(hosts_path))


def build(raw: RawInventory) -> Inventory:
    """The validated model of a raw inventory, or InventoryInvalid listing every problem."""
    out = Collector()
    hosts = parse_hosts(raw, out)
    group_vars = merged_group_vars(raw, out)
    settings = parse_settings(raw, group_vars, hosts, out)
    accounts_file, accounts = group_vars.get(ACCOUNTS_KEY, (str(raw.root / ACCOUNTS_FILE), None))
    domains = parse_domains(accounts_file, accounts, out)
    if domains is not None:
        check_accounts(accounts_file, domains, out)
    if out.problems or settings is None or domains is None:
        raise InventoryInvalid(out.problems)
    return Inventory(raw.root, hosts, settings, domains)


def load_inventory(root: Path) -> Inventory:
    return build(read_raw(root))


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Serialise writers: flock on the folder itself leaves no lock file behind."""
    fd = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_atomically(path: Path, text: str) -> None:
    """Replace a file in one step: readers see the old or the new content, never half."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
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


def dump(document: Any) -> str:
    stream = io.StringIO()
    yaml_rt().dump(document, stream)
    text = stream.getvalue()
    return text if text.startswith("---") else "---\n" + text


@contextmanager
def edit_accounts(root: Path) -> Iterator[CommentedSeq]:
    """Yield the round-trip `mail_domains` list; on exit validate everything, then write.

    If the body raises, or the edited inventory would be invalid, nothing is written.
    """
    with _locked(root):
        raw = read_raw(root, round_trip=True)
        build(raw)  # an already broken inventory is reported as it is, not as the edit's fault
        path, document = _accounts_document(raw)
        domains = document.get(ACCOUNTS_KEY)
        if domains is None:
            domains = document[ACCOUNTS_KEY] = CommentedSeq()
        yield domains
        edited = dict(raw.group_files)
        edited[str(path)] = document
        build(replace(raw, group_files=edited))
        write_atomically(path, dump(document))


def _accounts_document(raw: RawInventory) -> tuple[Path, CommentedMap]:
    for name, data in raw.group_files.items():
        if isinstance(data, CommentedMap) and ACCOUNTS_KEY in data:
            return Path(name), data
    path = raw.root / ACCOUNTS_FILE
    existing = raw.group_files.get(str(path))
    document = existing if isinstance(existing, CommentedMap) else CommentedMap()
    return path, document
