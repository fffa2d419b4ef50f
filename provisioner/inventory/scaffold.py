"""`mailprov init`: copy the commented sample inventory and put the operator's names in it.

The sample is ours and uses fixed example names, so plain text substitution keeps every
comment and line as written; the result is validated before the folder appears.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from provisioner.inventory.names import normalize_domain
from provisioner.inventory.passwords import hash_password
from provisioner.inventory.store import load_inventory
from provisioner.resources import resource_path

SAMPLE_HOSTNAME = "mail.example.org"
SAMPLE_DOMAIN = "example.org"
SAMPLE_ADDRESS = "203.0.113.10"
SAMPLE_HASH_PREFIX = '"{ARGON2ID}'


@dataclass(frozen=True)
class InitRequest:
    directory: Path
    domain: str
    hostname: str
    address: str | None = None


@dataclass(frozen=True)
class InitResult:
    summary: str
    postmaster: str
    password: str = ""

    def __repr__(self) -> str:  # keep the one-time password out of logs and tracebacks
        return f"InitResult(summary={self.summary!r}, postmaster={self.postmaster!r})"


def _personalise(text: str, domain: str, hostname: str, address: str, password_hash: str) -> str:
    lines = []
    for line in text.replace(SAMPLE_HOSTNAME, hostname).replace(SAMPLE_ADDRESS, address).splitlines():
        if line.strip().startswith(f"password: {SAMPLE_HASH_PREFIX}"):
            lines.append(line[: line.index("password:")] + f'password: "{password_hash}"')
        else:
            lines.append(line)
    # Replace the domain last: the host name may itself end in the sample domain.
    result = "\n".join(lines) + "\n"
    return result.replace(f"@{SAMPLE_DOMAIN}", f"@{domain}").replace(f"name: {SAMPLE_DOMAIN}", f"name: {domain}")


def write_new_inventory(request: InitRequest) -> InitResult:
    domain = normalize_domain(request.domain)
    hostname = normalize_domain(request.hostname)
    password = secrets.token_urlsafe(12)
    password_hash = hash_password(password)
    sample = resource_path("inventories") / "sample"
    target = request.directory
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for source in sorted(sample.rglob("*.yml")):
            dest = staging / source.relative_to(sample)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(_personalise(source.read_text(encoding="utf-8"), domain, hostname,
                                         request.address or hostname, password_hash),
                            encoding="utf-8")
        inventory = load_inventory(staging)
        if target.exists():
            target.rmdir()  # only ever empty here: the command refuses a non-empty folder
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return InitResult(inventory.summary(), f"postmaster@{domain}", password)
