"""Random and malformed inventories: each one loads or fails with the clean error, nothing else."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from provisioner.inventory.store import load_inventory
from provisioner.problems import InventoryInvalid
from provisioner.resources import resource_path

SAMPLE = resource_path("inventories") / "sample"
KEYS = ["name", "address", "password", "quota", "aliases", "targets", "source", "catch_all",
        "alias_domains", "mailboxes", "mail_domains", "mail_hostname", "mail_tls", "mode", "hosts"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30),
    st.sampled_from(["example.org", "a@example.org", "A@Example.ORG", "@example.org", "bücher.example",
                     "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "2G", "selfsigned", "files"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=5),
    ),
    max_leaves=25,
)


def _load_with(files: dict[str, object]) -> None:
    root = Path(tempfile.mkdtemp())
    try:
        shutil.copytree(SAMPLE, root / "inv")
        yaml = YAML(typ="safe")
        for relative, data in files.items():
            with (root / "inv" / relative).open("w") as handle:
                if isinstance(data, str):
                    handle.write(data)
                else:
                    yaml.dump(data, handle)
        try:
            load_inventory(root / "inv")
        except InventoryInvalid as err:
            assert err.problems
            for problem in err.problems:
                assert str(problem).count(": ") >= 2 and str(problem).endswith(")")
    finally:
        shutil.rmtree(root)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounts=values)
def test_random_account_structures(accounts: object) -> None:
    _load_with({"group_vars/mailservers/accounts.yml": {"mail_domains": accounts}})


@settings(max_examples=100, deadline=None)
@given(domain=st.dictionaries(st.sampled_from(KEYS), values, max_size=6))
def test_random_domain_entries(domain: dict[str, object]) -> None:
    _load_with({"group_vars/mailservers/accounts.yml": {"mail_domains": [domain]}})


@settings(max_examples=100, deadline=None)
@given(main=values, hosts=values)
def test_random_settings_and_hosts(main: object, hosts: object) -> None:
    _load_with({"group_vars/mailservers/main.yml": main, "hosts.yml": hosts})


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab:-[]{}'\"!&*#|>\n %@.\t")), max_size=60))
def test_random_yaml_text(text: str) -> None:
    _load_with({"group_vars/mailservers/accounts.yml": text})
