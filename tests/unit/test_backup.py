"""mail_backup's validation, the rule both sides share, check's freshness verdict, the list rows."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import yaml

from provisioner.backup.freshness import verdict
from provisioner.backup.restore import restore_vars
from provisioner.backup.runs import snapshot_row
from provisioner.inventory.model import BACKUP_SCHEDULES
from provisioner.inventory.store import load_inventory
from provisioner.problems import InventoryInvalid
from provisioner.resources import resource_path

MAIN = "group_vars/mailservers/main.yml"
PASSWORD = '"{{ vault_mail_backup_password }}"'


def write_main(inventory: Path, backup: str) -> None:
    (inventory / MAIN).write_text(f"mail_hostname: mail.example.org\nmail_backup: {backup}\n", encoding="utf-8")


def problems(inventory: Path) -> list[str]:
    with pytest.raises(InventoryInvalid) as caught:
        load_inventory(inventory)
    return [str(p) for p in caught.value.problems]


def test_no_backup_by_default_and_a_full_setting(inventory: Path) -> None:
    assert load_inventory(inventory).settings.backup is None
    write_main(inventory, f"{{repository: 's3:s3.example.net/mail', password: {PASSWORD}, schedule: hourly, "
               "keep: {daily: 3, weekly: 0, monthly: 2}, "
               "env: {AWS_ACCESS_KEY_ID: '{{ vault_aws_id }}', AWS_SECRET_ACCESS_KEY: '{{ vault_aws_key }}'}}")
    backup = load_inventory(inventory).settings.backup
    assert backup is not None
    assert (backup.repository, backup.schedule, backup.period, backup.local) == ("s3:s3.example.net/mail", "hourly",
                                                                                 3600, False)
    assert (backup.keep.daily, backup.keep.weekly, backup.keep.monthly) == (3, 0, 2)
    assert sorted(backup.env) == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    assert "vault" not in repr(backup)  # secrets stay out of reprs (logs, tracebacks)


@pytest.mark.parametrize(
    ("backup", "expected"),
    [
        ("{repository: /srv/backup, password: hunter2}", "mail_backup.password: a plaintext password"),
        ("{repository: /srv/backup}", "mail_backup.password: missing"),
        (f"{{password: {PASSWORD}}}", "mail_backup.repository: missing"),
        (f"{{repository: backup, password: {PASSWORD}}}", "'backup' is neither an absolute path nor a restic back end"),
        (f"{{repository: 'rest:https://u:secret@backup.example.net/', password: {PASSWORD}}}",
         "a password in the repository address"),
        (f"{{repository: /srv/backup, password: {PASSWORD}, schedule: monthly}}",
         "mail_backup.schedule: 'monthly' is not a schedule (use one of hourly, daily, weekly)"),
        (f"{{repository: /srv/backup, password: {PASSWORD}, keep: {{daily: -1}}}}",
         "mail_backup.keep.daily: -1 is not a number of snapshots"),
        (f"{{repository: /srv/backup, password: {PASSWORD}, keep: {{daily: 0, weekly: 0, monthly: 0}}}}",
         "mail_backup.keep: keeps no snapshot at all"),
        (f"{{repository: /srv/backup, password: {PASSWORD}, env: {{AWS_SECRET_ACCESS_KEY: plain}}}}",
         "mail_backup.env.AWS_SECRET_ACCESS_KEY: a plaintext value"),
        (f"{{repository: /srv/backup, password: {PASSWORD}, env: {{RESTIC_PASSWORD: '{{{{ vault_x }}}}'}}}}",
         "mail_backup.env.RESTIC_PASSWORD: not a back-end variable"),
        (f"{{repository: /srv/backup, password: {PASSWORD}, retention: 3}}", "mail_backup.retention: unknown key"),
        ("nightly", "mail_backup: expected a mapping"),
    ],
)
def test_backup_rules(inventory: Path, backup: str, expected: str) -> None:
    write_main(inventory, backup)
    found = problems(inventory)
    assert any(expected in p for p in found), found


def test_the_schedules_are_the_roles() -> None:
    """Python's periods (check's rule) and the role's timer calendars and spec name the same schedules."""
    role = resource_path("roles") / "backup"
    calendars = yaml.safe_load((role / "vars" / "main.yml").read_text())["backup_calendars"]
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    choices = spec["argument_specs"]["main"]["options"]["mail_backup"]["options"]["schedule"]["choices"]
    assert set(calendars) == set(BACKUP_SCHEDULES) == set(choices)


NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("record", "status"),
    [
        ({"result": "ok", "time": "2026-12-01T03:15:00Z", "snapshot": "abcdef0123"}, "pass"),
        ({"result": "ok", "time": "2026-11-29T13:00:00Z"}, "pass"),  # 47 h: one run missed
        ({"result": "ok", "time": "2026-11-29T11:00:00Z"}, "fail"),  # 49 h: two periods
        ({"result": "ok", "time": "yesterday"}, "fail"),
        ({"result": "none", "time": "2026-12-01T10:00:00Z"}, "skip"),  # set up, first run still due
        ({"result": "none", "time": "2026-11-20T10:00:00Z"}, "fail"),  # set up long ago, never succeeded
        (None, "fail"),
    ],
)
def test_a_backup_older_than_two_periods_fails(record: dict[str, object] | None, status: str) -> None:
    assert verdict("mail.example.org", record, BACKUP_SCHEDULES["daily"], NOW).status == status


def test_list_rows_and_restore_vars() -> None:
    row = snapshot_row({"id": "0123456789abcdef", "time": "2026-12-01T03:15:00Z", "hostname": "mail.example.org",
                        "paths": ["/var/vmail"], "summary": {"total_bytes_processed": 10, "data_added": 2}})
    assert (row["short_id"], row["bytes"], row["added"]) == ("01234567", 10, 2)
    assert snapshot_row({"id": "ab"})["bytes"] is None
    assert restore_vars(None, False) == ('{"backup_restore_snapshot": "latest", "backup_restore_force": false, '
                                         '"backup_timer": true}')
