"""Run a play that mailprov builds on the fly (read-only slurps for `mailprov dns`).

The DKIM key fetch and the certificate read (TLSA) both write their play to a private temporary
folder, run it through the one call into Ansible without a task count (nobody watches a
progress bar), and remove the folder whatever happens.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from provisioner.runner.options import PlaybookRun
from provisioner.runner.run import EventSink, RunResult, execute


def run_generated_play(play: list[dict[str, Any]], inventory: Path, on_event: EventSink, name: str) -> RunResult:
    """Ansible's result for ``play`` (written as ``name``.yml) run against ``inventory``."""
    folder = Path(tempfile.mkdtemp(prefix=f"mailprov-{name}-"))
    try:
        playbook = folder / f"{name}.yml"
        playbook.write_text(yaml.safe_dump(play, sort_keys=False), encoding="utf-8")
        return execute(PlaybookRun(playbook, inventory), on_event, count=False)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
