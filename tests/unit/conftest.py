"""Fixtures of the unit tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rehearse_fakes import FakePodman


@pytest.fixture
def podman(monkeypatch: pytest.MonkeyPatch) -> FakePodman:
    fake = FakePodman()
    fake.install(monkeypatch)
    return fake


# --- a real authoritative DNS server (nsd) on 127.0.0.1, for `dns --check` and `settings` ---------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SOA = "@ 3600 IN SOA ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 300\n@ 3600 IN NS ns.{zone}.\n"


@pytest.fixture
def nsd(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], int]]:
    """Start nsd (foreground, unprivileged settings) serving the given zones; yields its port."""
    binary = shutil.which("nsd") or ("/usr/sbin/nsd" if Path("/usr/sbin/nsd").exists() else None)
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("nsd is not installed (scripts/install-host-deps.sh installs it)")
        pytest.skip("nsd is not installed")
    processes: list[subprocess.Popen[bytes]] = []

    def start(zones: dict[str, str]) -> int:
        folder = tmp_path / "nsd"
        folder.mkdir()
        port = _free_port()
        conf = [f"server:\n  ip-address: 127.0.0.1@{port}\n  port: {port}\n  username: \"\"\n  chroot: \"\"\n"
                f"  zonesdir: \"{folder}\"\n  pidfile: \"{folder}/nsd.pid\"\n  database: \"\"\n"
                f"  xfrdfile: \"{folder}/xfrd.state\"\n  zonelistfile: \"{folder}/zone.list\"\n"
                f"  logfile: \"{folder}/nsd.log\"\n  server-count: 1\n  verbosity: 1\n"
                "remote-control:\n  control-enable: no\n"]
        for zone, text in zones.items():
            (folder / f"{zone}.zone").write_text(f"$ORIGIN {zone}.\n$TTL 3600\n" + SOA.format(zone=zone) + text)
            conf.append(f"zone:\n  name: {zone}\n  zonefile: {zone}.zone\n")
        (folder / "nsd.conf").write_text("".join(conf))
        proc = subprocess.Popen([binary, "-d", "-c", str(folder / "nsd.conf")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(proc)
        import dns.resolver

        res = dns.resolver.Resolver(configure=False)
        res.nameservers, res.port, res.lifetime = ["127.0.0.1"], port, 1.0
        for _ in range(100):
            try:
                res.resolve(next(iter(zones)), "SOA")
                return port
            except Exception:
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        log = (folder / "nsd.log").read_text() if (folder / "nsd.log").exists() else ""
        pytest.fail(f"nsd did not start: {log}")

    yield start
    for proc in processes:
        proc.terminate()
        proc.wait(timeout=10)


