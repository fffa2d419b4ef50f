"""Fakes for the rehearsal unit tests: podman and the playbook run, recorded."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provisioner.runner import run as runner_run
from provisioner.runner.run import RunResult
from provisioner.sandbox import container


class FakePodman:
    """Records what rehearse asks of podman; containers 'exist' between start and remove."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.started: list[container.Machine] = []
        self.removed: list[str] = []
        self.leftovers: list[str] = []
        self.networks: list[str] = []  # existing ones
        self.events: list[str] = []  # network and container starts and removals, in order

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(container, "ensure_image", lambda release: False)
        monkeypatch.setattr(container, "make_key", self.make_key)
        monkeypatch.setattr(container, "start", self.start)
        monkeypatch.setattr(container, "wait_ready", lambda name: None)
        monkeypatch.setattr(container, "authorize_and_pin", lambda m, key: f"[127.0.0.1]:{m.ports['ssh']} k\n")
        monkeypatch.setattr(container, "remove", self.remove)
        monkeypatch.setattr(container, "podman", self.podman)
        monkeypatch.setattr(container, "network_exists", lambda name: name in self.networks)
        monkeypatch.setattr(container, "create_network", self.create_network)
        monkeypatch.setattr(container, "remove_network", self.remove_network)

    def make_key(self, key: Path, comment: str) -> None:
        key.write_text("private")
        key.with_suffix(".pub").write_text("public")

    def start(self, machine: container.Machine) -> None:
        if machine.network is not None:
            assert machine.network.name in self.networks, "a machine started before its network"
        self.started.append(machine)
        self.running.add(machine.name)
        self.events.append(f"start {machine.name}")

    def create_network(self, network: container.Network) -> None:
        assert network.name not in self.networks
        self.networks.append(network.name)
        self.events.append(f"network {network.name} {network.subnet}")

    def remove_network(self, name: str) -> bool:
        assert not any(m.network and m.network.name == name for m in self.started if m.name in self.running)
        self.events.append(f"network rm {name}")
        found = name in self.networks
        self.networks = [n for n in self.networks if n != name]
        return found

    def remove(self, name: str) -> bool:
        self.events.append(f"rm {name}")
        self.removed.append(name)
        found = name in self.running
        self.running.discard(name)
        return found

    def podman(self, *args: str, **_: Any) -> subprocess.CompletedProcess[bytes]:
        assert args[:2] == ("ps", "-a")
        return subprocess.CompletedProcess(args, 0, "\n".join(self.leftovers).encode(), b"")


Deploy = Callable[..., RunResult]


def fake_deploy(monkeypatch: pytest.MonkeyPatch, behaviour: Deploy) -> list[Any]:
    calls: list[Any] = []

    def run(run: Any, **kwargs: Any) -> RunResult:
        calls.append(run)
        return behaviour(run, **kwargs)

    # Only Ansible itself is faked: validation and the vault lookup of runner.execute stay real.
    monkeypatch.setattr(runner_run, "run_playbook", run)
    monkeypatch.setattr(runner_run, "count_tasks", lambda run, env: None)
    return calls
