"""DKIM public keys for `mailprov dns`, read back from the servers.

Contract with the rspamd role: for each domain it signs, the role publishes the public key at
`<rspamd_dkim_dir>/<domain>.<selector>.pub`, world-readable, in one of these forms (all are
understood here). The folder is read from the role's own vars/main.yml (the variable's one home,
not settable from an inventory); the default selector is the model's (pinned to the role's by
tests/unit/test_drift.py).

- the DNS TXT value itself: `v=DKIM1; k=rsa; p=MIIB...`
- rspamadm dkim_keygen's zone-file output: `sel._domainkey IN TXT ( "v=DKIM1; k=rsa; " "p=..." ) ;`
- a PEM public key (`-----BEGIN PUBLIC KEY-----`), made into `v=DKIM1; k=rsa; p=<base64>`

Keys are fetched with one small playbook (ansible.builtin.slurp, failures ignored) through the
same runner, inventory and vault as `mailprov deploy`. No key found means no DKIM record: a
made-up record would only break signatures.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from provisioner.dns.read_play import run_generated_play
from provisioner.inventory.model import Dkim
from provisioner.inventory.role_vars import internal_value
from provisioner.runner.progress import Progress

DEFAULT_SELECTOR = Dkim.selector
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----(.*?)-----END PUBLIC KEY-----", re.DOTALL)


def key_dir() -> str:
    """Where the rspamd role keeps the keys (its `rspamd_dkim_dir`)."""
    return str(internal_value("rspamd", "rspamd_dkim_dir"))


def key_path(domain: str, selector: str, directory: str | None = None) -> str:
    return f"{directory or key_dir()}/{domain}.{selector}.pub"


def txt_value(text: str) -> str | None:
    """The DKIM TXT value in a published key file, or None when it holds none."""
    pem = _PEM.search(text)
    if pem:
        body = "".join(pem.group(1).split())
        try:
            base64.b64decode(body, validate=True)
        except ValueError:
            return None
        return f"v=DKIM1; k=rsa; p={body}"
    quoted = _QUOTED.findall(text)
    value = "".join(quoted) if quoted else text.strip()
    value = " ".join(value.split())
    return value if value.startswith("v=DKIM1") and "p=" in value else None


def fetch(inventory: Path, domains: Iterable[str], selector: str = DEFAULT_SELECTOR,
          directory: str | None = None) -> tuple[dict[str, str], list[str]]:
    """domain -> TXT value for the keys found on any mail server; plus notes for stderr."""
    wanted = {key_path(d, selector, directory): d for d in domains}
    if not wanted:
        return {}, []
    play = [{
        "name": "Read the DKIM public keys",
        "hosts": "mailservers",
        "gather_facts": False,
        "tasks": [{
            "name": "Read a DKIM public key",
            "ansible.builtin.slurp": {"src": "{{ item }}"},
            "loop": sorted(wanted),
            "failed_when": False,
        }],
    }]
    found: dict[str, str] = {}
    notes: list[str] = []

    def collect(event: dict[str, Any], _progress: Progress) -> None:
        data = event.get("event_data", {})
        if event.get("event") == "runner_item_on_ok":
            res = data.get("res", {})
            item, content = res.get("item"), res.get("content")
            if item in wanted and content and wanted[item] not in found:
                value = txt_value(base64.b64decode(content).decode("utf-8", "replace"))
                if value:
                    found[wanted[item]] = value
        elif event.get("event") == "runner_on_unreachable":
            notes.append(f"{data.get('host')}: unreachable, its DKIM keys were not read")

    result = run_generated_play(play, inventory, collect, "dkim")
    if result.rc != 0 and not notes:
        notes.append(f"reading the DKIM keys failed (ansible rc {result.rc}); run `mailprov deploy` first?")
    return found, notes
