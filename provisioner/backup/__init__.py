"""Backups with restic on the servers: `mailprov backup now|list`, `restore`, and check's freshness rule."""
