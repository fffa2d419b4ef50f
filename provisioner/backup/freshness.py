"""`mailprov check`'s backup rule: the last success is at most two schedule periods old."""

from __future__ import annotations

import datetime
from pathlib import Path

from provisioner.deployed.reader import read
from provisioner.inventory.model import Inventory
from provisioner.probe.checks import Check

CHECK_NAME = "backup"
PERIODS_ALLOWED = 2  # one late or failed run is tolerated; two in a row is a failure


def verdict(host: str, record: dict[str, object] | None, period: int, now: datetime.datetime) -> Check:
    """Pass when the record says ok and its time is within two periods of ``now``."""
    if not record or record.get("result") not in ("ok", "none"):
        return Check(host, CHECK_NAME, "fail", "no backup record: deploy with mail_backup set (mailprov deploy)")
    try:
        when = datetime.datetime.strptime(str(record.get("time")), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return Check(host, CHECK_NAME, "fail", f"unreadable backup time {record.get('time')!r}")
    age = (now - when).total_seconds()
    if record.get("result") == "none":  # set up at `time`, no success yet
        if age > PERIODS_ALLOWED * period:
            return Check(host, CHECK_NAME, "fail", f"no successful backup since backups were set up at "
                         f"{record.get('time')}; see journalctl -u mailprov-backup")
        return Check(host, CHECK_NAME, "skip", f"no backup yet (set up at {record.get('time')}); "
                     "run mailprov backup now, or wait for the timer")
    detail = f"last success {record.get('time')}, snapshot {str(record.get('snapshot', ''))[:8]}"
    if age > PERIODS_ALLOWED * period:
        return Check(host, CHECK_NAME, "fail",
                     f"{detail}: older than two schedule periods ({PERIODS_ALLOWED * period // 3600} h); "
                     "see journalctl -u mailprov-backup")
    return Check(host, CHECK_NAME, "pass", detail)


def backup_checks(inventory: Inventory, limit: str | None = None) -> list[Check]:
    """One check per host when mail_backup is set (none otherwise), read through status.yml."""
    backup = inventory.settings.backup
    if backup is None:
        return []
    result = read(Path(inventory.path), limit=limit, tags=("backup",))
    now = datetime.datetime.now(datetime.UTC)
    # In a fleet only mailbox back ends hold mail and back it up (roles/backup runs there).
    backed_up = {h.name for h in inventory.hosts if "mailbox" in h.functions}
    checks = []
    for name, host in sorted(result.hosts.items()):
        if name not in backed_up:
            continue
        if host.error:
            checks.append(Check(name, CHECK_NAME, "fail", host.error))
        else:
            checks.append(verdict(name, host.json_file("backup"), backup.period, now))
    return checks
