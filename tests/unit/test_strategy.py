"""Mitogen is what every mailprov run uses unless MAILPROV_MITOGEN=0 turns it off."""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.runner.run import ansible_env
from provisioner.runner.strategy import strategy_env


def test_mitogen_linear_is_the_default_and_its_plugin_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILPROV_MITOGEN", raising=False)
    env = strategy_env()
    assert env["ANSIBLE_STRATEGY"] == "mitogen_linear"
    assert (Path(env["ANSIBLE_STRATEGY_PLUGINS"]) / "mitogen_linear.py").is_file()
    assert ansible_env()["ANSIBLE_STRATEGY"] == "mitogen_linear"


def test_mailprov_mitogen_0_leaves_ansibles_own_strategy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILPROV_MITOGEN", "0")
    assert strategy_env() == {}
    assert "ANSIBLE_STRATEGY" not in ansible_env()
