"""The backup role on the converged servers: secrets root-only, timer on, a run makes a snapshot."""

from __future__ import annotations

import json

from conftest import Server


def test_backup_secrets_are_root_only(server: Server) -> None:
    for path in ("/etc/mailprov/backup/password", "/etc/mailprov/backup/restic.env"):
        f = server.host.file(path)
        assert (f.user, f.group, f.mode) == ("root", "root", 0o600), path
    assert "molecule-backup-pass" not in server.host.file("/etc/mailprov/backup/restic.env").content_string


def test_backup_timer_is_on(server: Server) -> None:
    timer = server.host.service("mailprov-backup.timer")
    assert timer.is_enabled and timer.is_running


def test_a_backup_run_makes_a_snapshot_with_mail_dkim_and_redis(server: Server) -> None:
    server.host.run_expect([0], "systemctl start mailprov-backup.service")
    record = json.loads(server.host.file("/var/lib/mailprov/backup.json").content_string)
    assert record["result"] == "ok" and record["snapshot"]
    listing = server.host.check_output(f"mailprov-restic ls --json {record['snapshot']}")
    paths = {json.loads(line).get("path") for line in listing.splitlines() if line.startswith("{")}
    assert {"/var/vmail", "/var/lib/rspamd/dkim", "/var/backups/mailprov/redis-dump.rdb"} <= paths
    assert not any(p and p.startswith("/etc/mailprov/backup") for p in paths)  # its own secrets stay out
