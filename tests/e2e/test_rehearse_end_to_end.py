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
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioner import rehearse

pytestmark = pytest.mark.e2e

MAILPROV = str(Path(sys.executable).parent / "mailprov")
SECOND_HOST = """\
        mail2.example.org:
          ansible_host: 198.51.100.20
          ansible_user: admin
          mail_hostname: mail2.example.org
          mailprov_release: bookworm
"""


def mailprov(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MAILPROV_VAULT_PASSWORD_FILE"}
    return subprocess.run([MAILPROV, *args], env=env, capture_output=True, text=True, timeout=1800, check=False)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"rc={result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module", autouse=True)
def no_leftovers() -> Iterator[None]:
    if rehearse.leftover_containers():
        pytest.fail(f"rehearsal containers exist already: {rehearse.leftover_containers()}")
    yield
    assert rehearse.leftover_containers() == []


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    inv = tmp_path_factory.mktemp("rehearse") / "inventory"
    ok(mailprov("init", str(inv), "--domain", "example.org", "--hostname", "mail.example.org",
                "--host", "203.0.113.10"))
    hosts = inv / "hosts.yml"
    hosts.write_text(hosts.read_text() + SECOND_HOST)
    ok(mailprov("probe-account", "create", "-i", str(inv)))
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
