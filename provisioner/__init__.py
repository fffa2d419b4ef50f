"""mailprov: turn plain Debian hosts into complete mail servers from a YAML inventory."""

__version__ = "0.1.0"
