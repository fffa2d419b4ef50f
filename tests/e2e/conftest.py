"""Fixtures of the e2e tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provisioner.rehearse import rehearsal as rehearse


@pytest.fixture(scope="module")
def no_rehearsal_leftovers() -> Iterator[None]:
    """No `mailprov-rehearse-*` container before the module's tests, none after."""
    if rehearse.leftover_containers():
        pytest.fail(f"rehearsal containers exist already: {rehearse.leftover_containers()}")
    yield
    assert rehearse.leftover_containers() == []
