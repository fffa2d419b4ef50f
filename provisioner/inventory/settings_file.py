"""Edit the hand-written settings file (main.yml) the way account edits are made.

Same rules as `inventory.edit_accounts`: under the inventory lock, the edited document is
validated as a whole inventory, then written atomically with only the changed lines rewritten
(yamlpatch), so the operator's comments stay. Work that must happen only once the edit is known
to be valid (writing the vault) is registered with `SettingsEdit.before_write`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from provisioner.inventory.model import Inventory
from provisioner.inventory.parse import RawInventory
from provisioner.inventory.store import GROUP_VARS, build, locked, read_raw, rewrite_file

SETTINGS_FILE = GROUP_VARS / "main.yml"


@dataclass
class SettingsEdit:
    data: dict[str, Any]  # the settings file's top-level mapping, as plain data
    inventory: Inventory  # the inventory before the edit (validated)
    path: Path
    pending: list[Callable[[], None]] = field(default_factory=list)

    def before_write(self, action: Callable[[], None]) -> None:
        """Run `action` after validation succeeded, just before the settings file is replaced."""
        self.pending.append(action)


@contextmanager
def edit_settings(root: Path, key: str) -> Iterator[SettingsEdit]:
    """Yield the file that holds `key` (else the one with mail_hostname, else main.yml) for editing."""
    with locked(root):
        raw = read_raw(root)
        inventory = build(raw)
        path = _settings_path(raw, key)
        old = raw.group_files.get(str(path))
        document = copy.deepcopy(old) if isinstance(old, dict) else {}
        edit = SettingsEdit(document, inventory, path)
        yield edit
        build(replace(raw, group_files={**raw.group_files, str(path): document}))
        for action in edit.pending:
            action()
        rewrite_file(path, old, document)


def _settings_path(raw: RawInventory, key: str) -> Path:
    for wanted in (key, "mail_hostname"):
        for name, data in raw.group_files.items():
            if isinstance(data, dict) and wanted in data:
                return Path(name)
    return raw.root / SETTINGS_FILE
