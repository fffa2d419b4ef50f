"""Facts several roles must agree on have one owner (roles/mail_common), so
overriding one side cannot silently break delivery. Checked without a server."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"
# Values of shared facts: only mail_common may define them.
SHARED_VALUES = {
    "vmail",
    5000,
    "/var/vmail",
    "/etc/mailprov/tls",
    "/etc/postfix/mailprov",
    "/etc/dovecot/mailprov/users",
}
SHARED_NAME = re.compile(
    r"_(vmail_(user|group|uid|gid|home)|tls_(dir|cert_path|key_path)|maps_dir|map_type|passwd_file)$"
)


def _variables(role: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for path in [role / "defaults" / "main.yml", *sorted((role / "vars").glob("*.yml"))]:
        if path.exists():
            found.update(yaml.safe_load(path.read_text()) or {})
    return found


def test_shared_facts_have_one_owner() -> None:
    for role in sorted(p for p in ROLES.iterdir() if p.is_dir() and p.name != "mail_common"):
        for name, value in _variables(role).items():
            assert not SHARED_NAME.search(name), f"{role.name} keeps its own copy: {name}"
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                text = str(value)
                assert value not in SHARED_VALUES and not any(
                    str(shared) in text for shared in SHARED_VALUES if isinstance(shared, str) and "/" in shared
                ), f"{role.name}: {name} = {value!r} repeats a mail_common fact"
    owned = _variables(ROLES / "mail_common")
    assert {"mail_common_vmail_uid", "mail_common_tls_cert_path", "mail_common_postfix_maps_dir"} <= set(owned)


def test_every_role_depends_on_the_owner() -> None:
    for role in ("mail_base", "postfix", "dovecot", "mail_accounts"):
        meta = yaml.safe_load((ROLES / role / "meta" / "main.yml").read_text())
        assert {"role": "mail_common"} in meta["dependencies"], role


def test_each_folder_is_created_once() -> None:
    created: dict[str, str] = {}
    for tasks in sorted(ROLES.glob("*/tasks/*.yml")):
        for task in yaml.safe_load(tasks.read_text()) or []:
            module = task.get("ansible.builtin.file") or {}
            if module.get("state") != "directory":
                continue
            # A loop over literal folders creates each of them (`path: "{{ item }}"`).
            loop = task.get("loop")
            looped = module["path"] == "{{ item }}" and isinstance(loop, list)
            for path in [str(item) for item in loop] if looped else [str(module["path"])]:
                assert path not in created, f"{path} created by {created[path]} and {tasks}"
                created[path] = str(tasks)
