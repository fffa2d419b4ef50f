"""`mailprov status`: what each host runs, read by the read-only status play.

Per host: the mailprov version and commit of the last successful deploy, its time and result
(``/etc/mailprov/deployed.json``, written by site.yml's last play), the certificate's expiry,
the mail queue's size, the mail store's disk use, and the last backup ("none" until backups
exist).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from provisioner.deployed.reader import HostRead, read
from provisioner.inventory.store import load_inventory


@dataclass
class HostStatus:
    host: str
    error: str | None = None  # unreachable: nothing else is known
    version: str | None = None  # None: never deployed (no record)
    commit: str | None = None
    deployed_at: str | None = None
    result: str | None = None
    tags: list[str] | None = None
    certificate_expires: str | None = None  # ISO 8601, UTC
    certificate_days_left: int | None = None
    queue: int | None = None
    mail_store_bytes: int | None = None
    last_backup: str | None = None  # no backups yet

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def parse_enddate(stdout: str) -> datetime | None:
    """``notAfter=Feb  1 12:00:00 2027 GMT`` (openssl x509 -enddate) as a UTC datetime."""
    value = stdout.strip().removeprefix("notAfter=")
    try:
        return datetime.strptime(" ".join(value.split()), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)
    except ValueError:
        return None


def _int_first(stdout: str | None) -> int | None:
    words = (stdout or "").split()
    return int(words[0]) if words and words[0].isdigit() else None


def host_status(read_back: HostRead, now: datetime) -> HostStatus:
    status = HostStatus(read_back.host, error=read_back.error)
    if read_back.error and not read_back.results:
        return status
    record = read_back.json_file("record") or {}
    status.version = str(record["version"]) if record.get("version") else None
    status.commit = str(record.get("commit") or "") or None
    status.deployed_at = str(record["time"]) if record.get("time") else None
    status.result = str(record["result"]) if record.get("result") else None
    tags = record.get("tags")
    status.tags = [str(t) for t in tags] if isinstance(tags, list) else None
    expiry = parse_enddate(read_back.stdout("certificate") or "")
    if expiry is not None:
        status.certificate_expires = expiry.isoformat().replace("+00:00", "Z")
        status.certificate_days_left = (expiry - now).days
    status.queue = _int_first(read_back.stdout("queue"))
    status.mail_store_bytes = _int_first(read_back.stdout("store"))
    backup = read_back.json_file("backup") or {}
    status.last_backup = str(backup["time"]) if backup.get("result") == "ok" and backup.get("time") else None
    return status


def status(inventory_dir: Path, limit: str | None = None, now: datetime | None = None) -> list[HostStatus]:
    """Every inventory host's status (limited to ``limit``'s hosts), in inventory order."""
    inventory = load_inventory(inventory_dir)
    result = read(inventory_dir, limit=limit, tags=("status",))
    moment = now or datetime.now(UTC)
    out = []
    for host in inventory.hosts:
        read_back = result.hosts.get(host.name)
        if read_back is None:
            if limit is None or host.name in {n.strip() for n in limit.split(",")}:
                out.append(HostStatus(host.name, error=f"not read (ansible rc {result.rc})"))
            continue
        out.append(host_status(read_back, moment))
    return out
