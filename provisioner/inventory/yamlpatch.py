"""Rewrite a YAML file so it holds new data, changing only the lines that differ.

Re-emitting a file of ten thousand mailboxes through ruamel.yaml's round trip costs a minute.
Here the old text is parsed with libyaml (node positions), old and new data are compared, and
only the differing entries are replaced, inserted or deleted as text (any number of removals
from a list, appends at its end); comments and formatting elsewhere stay byte for byte. The
result is parsed again and must equal the new data; other layouts (flow mappings, an emptied
list) fall back to ruamel.yaml's round trip, slower but keeping comments too.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from provisioner.inventory import fastyaml

_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9@._+/-]*$")
_SPECIAL = re.compile(r"^(true|false|yes|no|on|off|null|~|y|n|[-+]?[0-9][0-9_.:eE+-]*)$", re.IGNORECASE)
_Edit = tuple[int, int, str]  # replace text[start:end] with the string


class _Unhandled(Exception):
    """A layout the text patcher does not edit; the round-trip fallback does."""


class SharedValue(Exception):
    """The file shares values through a YAML anchor and aliases: an edit of one place could
    silently change the others, so the edit is refused (the operator writes them out)."""

    fix = "write the shared values out in full where they are used, without &anchors and *aliases"

    def __init__(self, line: int) -> None:
        super().__init__("YAML anchors and aliases share values here, and an edit of one place "
                         "would change every place that uses them")
        self.line = line


_BOM = "\ufeff"
_START = re.compile(r"^---(?=[ \t]|$)", re.MULTILINE)
_END = re.compile(r"^\.\.\.(?=[ \t]|$)", re.MULTILINE)


def rewrite(text: str, old: Any, new: Any) -> str:
    """The text of `new`, edited from `text` (which holds `old`) as little as possible.

    A byte order mark, a `---` line (and comments above it), a `...` line (and what follows
    it) are kept; a missing final newline is added. Raises the YAMLError of fastyaml for a
    document over its bounds, SharedValue for a document whose anchors and aliases an edit
    would have to change.
    """
    if old == new and text:
        return text
    body = text.lstrip(_BOM)  # libyaml skips them, and its positions would be off by as many
    bom, text = text[: len(text) - len(body)], body
    if text and not text.endswith("\n"):
        text += "\n"
    root = fastyaml.compose(text) if text.strip() else None
    shared = fastyaml.shared_nodes(root) if root is not None else []
    if shared:
        raise SharedValue(min(int(node.start_mark.line) for node in shared) + 1)
    try:
        patched = _patch(text, root, old, new)
        if fastyaml.load(patched) == new:
            return bom + patched
    except (_Unhandled, yaml.YAMLError):
        pass
    return bom + _round_trip(text, new)


def _frame(text: str) -> tuple[str, str, str]:
    """(head, body, tail): the lines up to an explicit `---` line, the document itself, and an
    explicit `...` line with all that follows it. ruamel.yaml would drop head and tail."""
    head = ""
    start = _START.search(text)
    if start is not None:
        before = text[: start.start()].splitlines()
        rest = text[start.end(): _line_end(text, start.start())].strip()
        if all(not line.strip() or line.lstrip().startswith(("#", "%")) for line in before) and (
                not rest or rest.startswith("#")):
            cut = _line_end(text, start.start())
            head, text = text[:cut], text[cut:]
    end = _END.search(text)
    if end is None:
        return head, text, ""
    return head, text[: end.start()], text[end.start():]


# --- rendering --------------------------------------------------------------------------------

def scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return text if _PLAIN.fullmatch(text) and not _SPECIAL.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def _inline(value: Any) -> str | None:
    """A value written on its key's line: a scalar or a flow list of scalars."""
    if isinstance(value, list) and not any(isinstance(v, list | dict) for v in value):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{}" if not value else None
    return None if isinstance(value, list) else scalar(value)


def _entry(key: str, value: Any, indent: int) -> str:
    """`key: value` at `indent`, as lines ending in a newline."""
    pad = " " * indent
    inline = _inline(value)
    if inline is not None:
        return f"{pad}{scalar(key)}: {inline}\n"
    if isinstance(value, dict):
        return f"{pad}{scalar(key)}:\n" + "".join(_entry(k, v, indent + 2) for k, v in value.items())
    return f"{pad}{scalar(key)}:\n" + "".join(_item(v, indent + 2) for v in value)


def _item(value: Any, indent: int) -> str:
    """`- value` at `indent` (the dash's column), as lines."""
    pad = " " * indent
    inline = _inline(value)
    if inline is not None:
        return f"{pad}- {inline}\n"
    if isinstance(value, dict):
        body = "".join(_entry(k, v, indent + 2) for k, v in value.items())
        return f"{pad}- {body[indent + 2:]}"
    raise _Unhandled("a list directly inside a list")


# --- patching ------------------------------------------------------------------------------------

def _patch(text: str, root: yaml.Node | None, old: Any, new: Any) -> str:
    if old is None:  # an empty file, or one of comments only: they stay, the variables follow
        if not isinstance(new, dict):
            raise _Unhandled("a document that is not a mapping")
        head, body, tail = _frame(text)
        return (head or "---\n") + body + "".join(_entry(k, v, 0) for k, v in new.items()) + tail
    if root is None:
        raise _Unhandled("a document with no node")
    edits: list[_Edit] = []
    _diff(text, root, old, new, edits)
    pieces, done = [], 0  # one pass: 10,000 edits must not copy the text 10,000 times
    for start, end, replacement in sorted(edits):
        if start < done:
            raise _Unhandled("edits that overlap")
        pieces += [text[done:start], replacement]
        done = end
    return "".join([*pieces, text[done:]])


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _content_end(node: yaml.Node) -> int:
    """Where a node's own text ends: block collections end at their last scalar, not at the
    next token, so that comments and blank lines after them are left alone."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _content_end(node.value[-1])
    return int(node.end_mark.index)


def _block(node: yaml.Node) -> bool:
    return isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style and bool(node.value)


def _diff(text: str, node: yaml.Node, old: Any, new: Any, edits: list[_Edit]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict) and isinstance(node, yaml.MappingNode) and _block(node):
        _diff_mapping(text, node, old, new, edits)
    elif isinstance(old, list) and isinstance(new, list) and isinstance(node, yaml.SequenceNode) and _block(node):
        _diff_sequence(text, node, old, new, edits)
    else:
        inline = _inline(new)
        if inline is None or _block(node):
            raise _Unhandled("a block value replaced by another shape")
        edits.append((node.start_mark.index, node.end_mark.index, inline))


def _diff_mapping(text: str, node: yaml.MappingNode, old: dict[Any, Any], new: dict[Any, Any],
                  edits: list[_Edit]) -> None:
    pairs = {key_node.value: (key_node, value_node) for key_node, value_node in node.value}
    if set(pairs) != set(old):
        raise _Unhandled("keys that are not plain scalars")
    indent = node.value[0][0].start_mark.column
    for key, (key_node, value_node) in pairs.items():
        if key not in new:
            start = _line_start(text, key_node.start_mark.index)
            if text[start:key_node.start_mark.index].strip():  # the first key of a `- key:` item
                raise _Unhandled("removing the key that shares a line with its dash")
            edits.append((start, _line_end(text, _content_end(value_node)), ""))
        elif isinstance(new[key], list | dict) and not new[key] and _block(value_node):
            edits.append((key_node.end_mark.index, _content_end(value_node), ": " + _inline(new[key])))  # type: ignore[operator]
        elif _block(value_node) or _inline(new[key]) is not None:
            _diff(text, value_node, old[key], new[key], edits)
        else:  # e.g. `mailboxes: []` becoming a block list of mappings
            after_key = key_node.end_mark.index
            rendered = _entry(key, new[key], indent)
            edits.append((after_key, _line_end(text, _content_end(value_node)) - 1,
                          rendered[rendered.index(":"):].rstrip("\n")))
    added = [k for k in new if k not in pairs]
    if added:
        at = _line_end(text, _content_end(node))
        edits.append((at, at, "".join(_entry(k, new[k], indent) for k in added)))


def _diff_sequence(text: str, node: yaml.SequenceNode, old: list[Any], new: list[Any], edits: list[_Edit]) -> None:
    items = node.value
    first = items[0].start_mark
    dash = text.rfind("-", _line_start(text, first.index), first.index)
    if dash < 0:
        raise _Unhandled("an item whose dash is on another line")
    indent = dash - _line_start(text, first.index)
    kept = _kept(old, new) if new and len(new) < len(old) else None  # removals only, anywhere
    if kept is not None:
        edits.extend((_line_start(text, item.start_mark.index), _line_end(text, _content_end(item)), "")
                     for i, item in enumerate(items) if i not in kept)
        return
    if new[: len(old)] == old and len(new) > len(old):
        at = _line_end(text, _content_end(node))
        edits.append((at, at, "".join(_item(v, indent) for v in new[len(old):])))
        return
    if len(new) != len(old):
        raise _Unhandled("a list changed in more than one place")
    for item, before, after in zip(items, old, new, strict=True):
        _diff(text, item, before, after, edits)


def _kept(old: list[Any], new: list[Any]) -> set[int] | None:
    """The positions of `old` that `new` keeps, when `new` is `old` with items removed."""
    kept: set[int] = set()
    for i, item in enumerate(old):
        if len(kept) < len(new) and item == new[len(kept)]:
            kept.add(i)
    return kept if len(kept) == len(new) else None


# --- fallback ------------------------------------------------------------------------------------

def _yaml_rt() -> YAML:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def _merge(target: Any, new: Any) -> Any:
    """Make a round-trip object equal to `new`, keeping the entries (and comments) that stay."""
    if target == new and type(target) is not bool:
        return target  # unchanged: keep its quoting style
    if isinstance(new, str) and scalar(new) != new:
        # Ansible reads YAML 1.1, where an unquoted yes/no/on/off is a boolean.
        return DoubleQuotedScalarString(new)
    if isinstance(target, CommentedMap) and isinstance(new, dict):
        for key in [k for k in target if k not in new]:
            del target[key]
        for key, value in new.items():
            target[key] = _merge(target.get(key), value)
        return target
    if isinstance(target, CommentedSeq) and isinstance(new, list):
        kept = [_merge(target[i] if i < len(target) else None, v) for i, v in enumerate(new)]
        target[:] = kept
        return target
    if isinstance(new, list):
        return [_merge(None, v) for v in new]
    if isinstance(new, dict):
        return {k: _merge(None, v) for k, v in new.items()}
    return new


def _round_trip(text: str, new: Any) -> str:
    head, body, tail = _frame(text)
    rt = _yaml_rt()
    document = rt.load(body) if body.strip() else None
    stream = io.StringIO()
    rt.dump(_merge(document, new) if document is not None else new, stream)
    out = stream.getvalue()
    if document is None and not head:
        head = "" if out.startswith("---") else "---\n"
    return head + (body if document is None else "") + out + tail
