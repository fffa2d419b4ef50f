"""The Debian releases mailprov supports: their one home on the Python side.

`rehearse` and the sandbox stand hosts up on these, `mailprov_release` accepts them, and
tests/unit/test_drift.py pins them to the roles (meta/main.yml platforms, vars/Debian-*.yml) and
to Molecule's platforms. The newest comes first (the default wherever one release is chosen).
"""

from __future__ import annotations

from collections.abc import Mapping

# Codename -> Debian major version (the roles' vars/Debian-<major>.yml).
DEBIAN_MAJOR: Mapping[str, int] = {"trixie": 13, "bookworm": 12}
RELEASES: tuple[str, ...] = tuple(DEBIAN_MAJOR)
