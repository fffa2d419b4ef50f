"""Fast read-only YAML loading for validation (libyaml through PyYAML).

ruamel.yaml's round-trip loader is pure Python: about a second per thousand mailboxes.
Commands that only read the inventory use libyaml instead, which is tens of times faster;
edits still go through ruamel.yaml so comments and formatting survive.
"""

from __future__ import annotations

from typing import Any

import yaml

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class VaultEncrypted(str):
    """An inline `!vault` value: the ciphertext, which only Ansible decrypts."""

    tag = "!vault"


class Loader(_BaseLoader):  # type: ignore[misc]
    """Safe loading plus `!vault` scalars, refusing duplicate keys as ruamel.yaml does."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def _construct_vault(loader: Any, node: yaml.ScalarNode) -> VaultEncrypted:
    return VaultEncrypted(loader.construct_scalar(node))


Loader.add_constructor("!vault", _construct_vault)
Loader.add_constructor(
    "tag:yaml.org,2002:map", lambda loader, node: loader.construct_mapping(node, deep=True)
)


def load(text: str) -> Any:
    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
