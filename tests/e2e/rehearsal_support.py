"""Shared by the rehearsal e2e tests: the real `mailprov` command and an operator-made inventory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MAILPROV = str(Path(sys.executable).parent / "mailprov")


def mailprov(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MAILPROV_VAULT_PASSWORD_FILE"}
    return subprocess.run(
        [MAILPROV, *args], env=env, input=stdin, capture_output=True, text=True, timeout=1800, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"rc={result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def operator_inventory(inv: Path, extra_hosts: str = "") -> Path:
    """`mailprov init` (one trixie host at a documentation address) + ``extra_hosts`` + a probe account."""
    ok(mailprov("init", str(inv), "--domain", "example.org", "--hostname", "mail.example.org",
                "--host", "203.0.113.10"))
    if extra_hosts:
        hosts = inv / "hosts.yml"
        hosts.write_text(hosts.read_text() + extra_hosts)
    ok(mailprov("probe-account", "create", "-i", str(inv)))
    return inv
