"""`mailprov rehearse` end to end, through the real command.

An inventory made like an operator makes it (`mailprov init`, a second host,
`mailprov probe-account create`) with one bookworm and one trixie host, whose
real addresses are documentation addresses that must never be contacted. The
rehearsal deploys both containers and checks them; a second inventory with a
value only Ansible rejects fails with host, task and message. No
`mailprov-rehearse-*` container may be left behind.

Needs root, podman and the local images (built on demand).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from rehearsal_support import mailprov, ok, operator_inventory

from provisioner.rehearse import rehearsal as rehearse

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_rehearsal_leftovers")]

SECOND_HOST = """\
        mail2.example.org:
          ansible_host: 198.51.100.20
          ansible_user: admin
          mail_hostname: mail2.example.org
          mailprov_release: bookworm
"""


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inv = operator_inventory(tmp_path_factory.mktemp("rehearse") / "inventory", SECOND_HOST)
    ok(mailprov("validate", "-i", str(inv)))
    return inv


def test_two_hosts_rehearsed(two_hosts: Path) -> None:
    result = ok(mailprov("rehearse", "-i", str(two_hosts), "--json"))
    summary = json.loads(result.stdout)
    assert summary["ok"] is True
    by_host = {h["host"]: h for h in summary["hosts"]}
    assert by_host["mail.example.org"]["release"] == "trixie"
    assert by_host["mail2.example.org"]["release"] == "bookworm"
    for host in by_host.values():
        assert host["deploy"]["ok"] and host["deploy"]["changed"] > 0, host
        assert host["checks"]["run"] and host["checks"]["failed"] == [], host
        assert host["checks"]["passed"] >= 15, host
    assert rehearse.leftover_containers() == []


def test_a_value_only_ansible_rejects_fails_the_rehearsal(two_hosts: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(two_hosts, broken)
    main = broken / "group_vars" / "mailservers" / "main.yml"
    main.write_text(main.read_text() + "\npostfix_extra_config:\n  smtpd_tls_security_level: bogus\n")
    ok(mailprov("validate", "-i", str(broken)))  # validation cannot see it
    result = mailprov("rehearse", "-i", str(broken), "--limit", "mail.example.org")
    assert result.returncode != 0, result.stdout
    output = result.stdout + result.stderr
    assert "FAILED mail.example.org" in output, output
    assert "smtpd_tls_security_level" in output or "bogus" in output, output
    assert "rehearsal failed" in output
    assert rehearse.leftover_containers() == []
