"""What the benchmarks share: the mailprov beside this Python, and taking their sandbox down."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def sandbox_down(release: str, env: dict[str, str]) -> None:
    """Remove the benchmark's sandbox container; a failure here must not hide the figures."""
    subprocess.run(
        [str(BIN / "mailprov"), "sandbox", "down", "--release", release], env=env, capture_output=True, check=False
    )
