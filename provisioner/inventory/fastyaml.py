"""Fast read-only YAML loading for validation (libyaml through PyYAML), with bounds.

ruamel.yaml's round-trip loader is pure Python: about a second per thousand mailboxes.
Commands that only read the inventory use libyaml instead, which is tens of times faster;
edits still go through ruamel.yaml so comments and formatting survive.

Every document is composed first and checked before anything builds values from it or walks
them: nesting deeper than MAX_DEPTH and aliases that expand to more than MAX_ALIAS_EXPANSION
extra values ("billion laughs") are refused, as are aliases that refer to their own value.
Everything downstream (validation, deep copies, comparisons, the text patcher, ruamel.yaml's
round trip) recurses over values, so it only ever sees documents that passed these bounds.
"""

from __future__ import annotations

import functools
from typing import Any, cast

import yaml

from provisioner.problems import shown

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DEPTH = 50  # an inventory needs about 8 levels; Python's recursion limit is near 1000 frames
MAX_ALIAS_EXPANSION = 100_000  # values added by expanding aliases, beyond those written out


class VaultEncrypted(str):
    """An inline `!vault` value: the ciphertext, which only Ansible decrypts."""

    tag = "!vault"


class TooComplex(yaml.YAMLError):
    """A document over the bounds; `problem` and `problem_mark` as in PyYAML's own errors."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


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
                    "while reading a mapping", node.start_mark, f"duplicate key {shown(key)}", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def _construct_vault(loader: Any, node: yaml.ScalarNode) -> VaultEncrypted:
    return VaultEncrypted(loader.construct_scalar(node))


Loader.add_constructor("!vault", _construct_vault)
Loader.add_constructor(
    "tag:yaml.org,2002:map", lambda loader, node: loader.construct_mapping(node, deep=True)
)


def children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def shared_nodes(root: yaml.Node) -> list[yaml.Node]:
    """Nodes reached more than once: an anchor's value, used again through an alias."""
    seen: set[int] = set()
    shared: dict[int, yaml.Node] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            shared[id(node)] = node
            continue
        seen.add(id(node))
        stack.extend(children(node))
    return list(shared.values())


def check(root: yaml.Node) -> None:
    """TooComplex when the document is nested too deep, refers to itself or expands too much.

    One iterative pass over the distinct nodes (post-order, memoised), so the check itself
    never recurses and costs the same however far the aliases would expand. Scalars (most of
    the nodes) are counted where they stand, never pushed.
    """
    size: dict[int, int] = {}  # values in the expanded subtree of each collection, capped
    depth: dict[int, int] = {}
    cap = MAX_ALIAS_EXPANSION * 1000
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    scalars: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            total, deepest = 1, 0
            for kid in children(node):
                if isinstance(kid, yaml.ScalarNode):
                    total += 1
                    deepest = deepest or 1
                else:
                    total += size[id(kid)]
                    deepest = max(deepest, depth[id(kid)])
            size[key], depth[key] = min(cap, total), 1 + deepest
            open_nodes.discard(key)
            if depth[key] > MAX_DEPTH:
                raise TooComplex(f"values nested more than {MAX_DEPTH} levels deep", node.start_mark)
            continue
        if key in size:
            continue
        if isinstance(node, yaml.ScalarNode):  # only the root can be pushed as a scalar
            size[key], depth[key] = 1, 1
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for kid in children(node):
            if isinstance(kid, yaml.ScalarNode):
                scalars.add(id(kid))
            elif id(kid) in open_nodes:
                raise TooComplex("an alias refers to the value that contains it", kid.start_mark)
            elif id(kid) not in size:
                stack.append((kid, False))
        if len(open_nodes) > MAX_DEPTH + 1:
            raise TooComplex(f"values nested more than {MAX_DEPTH} levels deep", node.start_mark)
    if size[id(root)] - len(size) - len(scalars) > MAX_ALIAS_EXPANSION:
        first = shared_nodes(root)
        raise TooComplex(f"aliases expand to more than {MAX_ALIAS_EXPANSION} extra values",
                         first[0].start_mark if first else root.start_mark)


@functools.lru_cache(maxsize=4)
def _composed(text: str) -> yaml.Node | None:
    """Composed and checked once per text: an edit reads the accounts file for its values,
    then the patcher needs the same file's node positions (a second parse of ten thousand
    mailboxes is a second). Nodes are never changed after composing, so sharing is safe."""
    loader = Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is not None:
        check(node)
    return cast(yaml.Node | None, node)


def forget() -> None:
    """Drop the composed texts (a benchmark measuring a cold read calls this)."""
    _composed.cache_clear()


def compose(text: str) -> yaml.Node | None:
    """The checked node graph of a one-document text (node positions for the patcher)."""
    return _composed(text)


def load(text: str) -> Any:
    """The values of a one-document text, once its nodes passed `check`."""
    node = _composed(text)
    if node is None:
        return None
    loader = Loader("")
    try:
        return loader.construct_document(node)
    except ValueError as err:  # e.g. an integer of more digits than Python converts
        raise TooComplex(f"a value Python cannot read: {str(err)[:80]}", None) from None
    finally:
        loader.dispose()
