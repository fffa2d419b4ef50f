"""Fixtures of the unit tests."""

from __future__ import annotations

import pytest
from rehearse_fakes import FakePodman


@pytest.fixture
def podman(monkeypatch: pytest.MonkeyPatch) -> FakePodman:
    fake = FakePodman()
    fake.install(monkeypatch)
    return fake
