"""The servers' own certificates, for the `_25._tcp.<mx>` TLSA records of `mailprov dns`.

`fetch` reads each host's installed certificate (`mail_common_tls_cert_path`, the one Postfix
serves) with one small playbook through the same runner, inventory and vault as `mailprov
deploy`, so the record can be printed before any DNS exists. `served` asks port 25 itself
(STARTTLS) which certificate it presents, for `--check`: DNS, the file and the port must agree.
No certificate found means no TLSA record: a made-up one would make DANE senders defer mail.
"""

from __future__ import annotations

import base64
import smtplib
import ssl
from pathlib import Path
from typing import Any

from provisioner.dns.read_play import run_generated_play
from provisioner.inventory.role_vars import role_for
from provisioner.runner.progress import Progress

# mail_common's defaults/main.yml (pinned by tests/unit/test_dns_tlsa.py); the role itself is
# not loaded here: its argument spec wants the host's facts.
CERT_PATH_DEFAULT = "{{ mail_common_tls_dir }}/{{ mail_hostname }}.crt"


def cert_path_expression() -> str:
    """Where the host's certificate is: the inventory's mail_common_* settings, else the defaults."""
    folder = role_for("mail_common_tls_dir")
    default_dir = str(folder.defaults["mail_common_tls_dir"]) if folder else "/etc/mailprov/tls"
    return ("{{ mail_common_tls_cert_path | default((mail_common_tls_dir | default('" + default_dir + "'))"
            " ~ '/' ~ mail_hostname ~ '.crt') }}")


def fetch(inventory: Path) -> tuple[dict[str, bytes], list[str]]:
    """Inventory host name -> the PEM certificate installed there; plus notes for stderr."""
    play = [{
        "name": "Read the mail certificate",
        "hosts": "mailservers",
        "gather_facts": False,
        "tasks": [{
            "name": "Read the mail certificate",
            "ansible.builtin.slurp": {"src": cert_path_expression()},
            "failed_when": False,
        }],
    }]
    found: dict[str, bytes] = {}
    notes: list[str] = []

    def collect(event: dict[str, Any], _progress: Progress) -> None:
        data = event.get("event_data", {})
        if event.get("event") == "runner_on_ok" and data.get("res", {}).get("content"):
            found[str(data.get("host"))] = base64.b64decode(data["res"]["content"])
        elif event.get("event") == "runner_on_unreachable":
            notes.append(f"{data.get('host')}: unreachable, its certificate (TLSA record) was not read")

    result = run_generated_play(play, inventory, collect, "certificate")
    if result.rc != 0 and not notes:
        notes.append(f"reading the certificates failed (ansible rc {result.rc}); run `mailprov deploy` first?")
    return found, notes


def served(address: str, port: int = 25, timeout: float = 15.0) -> bytes:
    """The DER certificate the SMTP server at address:port presents after STARTTLS.

    Nothing is verified here on purpose: the point is to compare the key with the TLSA record,
    which is exactly what a DANE sender does (usage 3 ignores names and CAs)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP(address, port, timeout=timeout) as smtp:
        smtp.ehlo("mailprov-dns-check")
        smtp.starttls(context=context)
        sock = smtp.sock
        der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
    if not der:
        raise OSError(f"{address}:{port} presented no certificate")
    return der
