"""The wheel carries roles, playbooks and the sample inventory; `mailprov` works from anywhere."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from provisioner.rehearse.upgrade_source import extract, resolve

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.wheel
def test_wheel_installs_into_a_clean_venv_and_runs_from_any_directory(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(ROOT)], check=True)
    wheel = next((tmp_path / "dist").glob("mailprov-*.whl"))
    names = subprocess.run([sys.executable, "-m", "zipfile", "-l", str(wheel)], check=True,
                           capture_output=True, text=True).stdout
    for shipped in ("provisioner/_data/roles/", "provisioner/_data/playbooks/site.yml",
                    "provisioner/_data/inventories/sample/hosts.yml", "provisioner/_data/ansible.cfg",
                    "provisioner/providers/providers.toml"):
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
    # An installed wheel has no git history: a ref is refused before anything starts, with the way out.
    refused = subprocess.run([mailprov, "rehearse", "-i", "inv", "--upgrade-from", "HEAD"], cwd=elsewhere,
                             capture_output=True, text=True)
    assert refused.returncode == 2, refused.stderr
    assert "installed package, not a git checkout" in refused.stderr and ".whl" in refused.stderr
    assert "Traceback" not in refused.stderr
    # ... while this very wheel is a release to upgrade from.
    source = resolve(str(wheel))
    bundle = extract(source, tmp_path / "bundle")
    assert (bundle / "playbooks" / "site.yml").is_file() and (bundle / "roles" / "postfix" / "tasks").is_dir()
    assert (bundle / "ansible.cfg").is_file() and not (bundle / "inventories").exists()
