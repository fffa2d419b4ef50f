"""The fleet proofs share one rehearsal: four stand-ins deployed once, for the whole session.

They start containers, so they run only when asked for (`pytest -m fleet`, `make fleet`):
`pytest -m "not e2e"` (the unit tests) leaves them out even though it does not name them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from fleet_support import Fleet, write_fleet_inventory

from provisioner.rehearse import fleet as fleet_network
from provisioner.rehearse import rehearsal as rehearse
from provisioner.sandbox import container

HERE = __file__.rsplit("/", 1)[0]
KEEP = "MAILPROV_FLEET_KEEP"  # set: the stand-ins stay after the proofs, to look at by hand


# Routing first (quick, and it fails first when the fleet is wrong), then the outages, then the move.
ORDER = ("test_proof_routing.py", "test_proof_outages.py", "test_proof_move.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if str(item.path).startswith(HERE)]
    if not ours:
        return
    if "fleet" not in (config.option.markexpr or ""):
        config.hook.pytest_deselected(items=ours)
        items[:] = [item for item in items if item not in ours]
        return
    rank = {name: i for i, name in enumerate(ORDER)}
    others = [item for item in items if item not in ours]
    items[:] = others + sorted(ours, key=lambda item: rank.get(item.path.name, len(ORDER)))


def _remove_leftovers() -> None:
    """Only ours: `mailprov-rehearse-*` and the rehearsal network (nobody else rehearses meanwhile)."""
    for name in rehearse.leftover_containers():
        container.remove(name)
    container.remove_network(fleet_network.NETWORK)


@pytest.fixture(scope="session")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    if rehearse.leftover_containers() or rehearse.leftover_network():
        pytest.fail(f"a rehearsal is still there: {rehearse.leftover_containers() + rehearse.leftover_network()}")
    inv = write_fleet_inventory(tmp_path_factory.mktemp("fleet") / "inventory")
    started = time.monotonic()
    try:
        result = rehearse.rehearse(inv, keep=True, step=lambda msg: print(f"fleet rehearsal: {msg}", flush=True))
    except BaseException:
        _remove_leftovers()
        raise
    seconds = time.monotonic() - started
    print(f"fleet rehearsal: deployed and checked in {seconds:.0f} s", flush=True)
    try:
        failures = [f"{f.host}: {f.task}: {f.message}" for o in result.outcomes for f in o.failures]
        assert all(o.deploy_ok for o in result.outcomes), "\n".join(failures) or "a host was not reached"
        yield Fleet(result, {o.stand.host: o.stand for o in result.outcomes}, seconds)
    finally:
        if os.environ.get(KEEP):
            print(f"fleet rehearsal: kept for a look ({KEEP}); remove: podman rm -f "
                  f"{' '.join(o.stand.name for o in result.outcomes)} && podman network rm {fleet_network.NETWORK}")
        else:
            problems = rehearse.remove_all([o.stand for o in result.outcomes], result.kept or inv.parent / "absent")
            assert problems == [], problems
