"""The wheel carries roles, playbooks and the sample inventory; `mailprov` works from anywhere."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.wheel
def test_wheel_installs_into_a_clean_venv_and_runs_from_any_directory(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(ROOT)], check=True)
    wheel = next((tmp_path / "dist").glob("mailprov-*.whl"))
    names = subprocess.run([sys.executable, "-m", "zipfile", "-l", str(wheel)], check=True,
                           capture_output=True, text=True).stdout
    for shipped in ("provisioner/_data/roles/", "provisioner/_data/playbooks/site.yml",
                    "provisioner/_data/inventories/sample/hosts.yml", "provisioner/_data/ansible.cfg"):
        assert shipped in names, shipped
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    subprocess.run([env_dir / "bin" / "pip", "install", "-q", "--disable-pip-version-check",
                    "-c", str(ROOT / "constraints.txt"), str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    mailprov = env_dir / "bin" / "mailprov"
    shown = subprocess.run([mailprov, "--help"], cwd=elsewhere, check=True, capture_output=True, text=True)
    assert "init" in shown.stdout and "user" in shown.stdout
    subprocess.run([mailprov, "init", "inv", "--domain", "example.com", "--hostname", "mail.example.com"],
                   cwd=elsewhere, check=True, capture_output=True)
    checked = subprocess.run([mailprov, "validate", "-i", "inv"], cwd=elsewhere, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
