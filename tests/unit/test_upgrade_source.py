"""`rehearse --upgrade-from REF`: what REF is, and the earlier release's deploy files taken out of it."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from provisioner.problems import UsageError
from provisioner.rehearse import upgrade_source
from provisioner.rehearse.upgrade_source import extract, resolve


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        capture_output=True, text=True, check=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A mailprov-like history: a first commit without roles, then a release with them."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "README.md").write_text("first\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "no roles yet")
    git(root, "tag", "v0.0")
    (root / "roles" / "postfix" / "tasks").mkdir(parents=True)
    (root / "roles" / "postfix" / "tasks" / "main.yml").write_text("---\n- name: Old task\n")
    (root / "playbooks").mkdir()
    (root / "playbooks" / "site.yml").write_text("--- # old site\n")
    (root / "ansible.cfg").write_text("[defaults]\nforks = 3\n")
    (root / "provisioner.py").write_text("not deployed\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "roles")
    git(root, "tag", "v0.1")
    (root / "playbooks" / "site.yml").write_text("--- # newer site\n")
    git(root, "commit", "-q", "-am", "newer")
    return root


def test_a_tag_resolves_to_its_commit_and_extracts_only_the_deploy_files(repo: Path, tmp_path: Path) -> None:
    source = resolve("v0.1", repo)
    assert source.kind == "git" and source.commit == git(repo, "rev-parse", "v0.1^{commit}")
    assert source.label == f"v0.1 ({source.commit[:12]})"
    out = extract(source, tmp_path / "old")
    assert (out / "playbooks" / "site.yml").read_text() == "--- # old site\n"  # the tag's, not HEAD's
    assert (out / "roles" / "postfix" / "tasks" / "main.yml").exists()
    assert (out / "ansible.cfg").read_text().startswith("[defaults]")
    assert not (out / "provisioner.py").exists() and not (out / "README.md").exists()


def test_a_commit_and_a_branch_resolve(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    assert resolve(head[:10], repo).commit == head
    branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD")
    assert resolve(branch, repo).commit == head
    assert resolve(head, repo).label == resolve(head[:7], repo).label == head[:12]


def test_a_release_without_ansible_cfg_still_extracts(repo: Path, tmp_path: Path) -> None:
    git(repo, "rm", "-q", "ansible.cfg")
    git(repo, "commit", "-q", "-m", "no cfg")
    out = extract(resolve("HEAD", repo), tmp_path / "old")
    assert (out / "playbooks" / "site.yml").exists() and not (out / "ansible.cfg").exists()


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("v9.9", "v9.9: no such tag, branch or commit"),
        ("deadbeef", "no such tag, branch or commit"),
        ("v0.0", "has no playbooks/site.yml and no roles; pick a commit that already had working roles"),
        ("--output=/tmp/x", "not a git ref"),
        ("  ", "empty"),
    ],
)
def test_bad_refs_are_refused_with_the_fix(repo: Path, ref: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        resolve(ref, repo)


def test_a_shallow_clone_says_how_to_get_the_history(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth=1", f"file://{repo}", str(clone)], check=True)
    with pytest.raises(UsageError, match="shallow: run `git fetch --unshallow`"):
        resolve("v0.1", clone)


def test_repo_must_be_a_git_checkout(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a git checkout"):
        resolve("v0.1", tmp_path)
    with pytest.raises(UsageError, match="no such folder"):
        resolve("v0.1", tmp_path / "missing")


def test_an_installed_mailprov_needs_a_wheel_or_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upgrade_source, "checkout_root", lambda: None)
    with pytest.raises(UsageError, match=r"installed package, not a git checkout.*wheel.*--repo PATH"):
        resolve("v0.1")


def test_from_this_checkout_refs_resolve_in_it() -> None:
    root = upgrade_source.checkout_root()
    assert root is not None and (root / "playbooks" / "site.yml").is_file()  # the unit tests run from a checkout


def wheel(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


def test_a_wheel_gives_its_bundled_deploy_files_and_nothing_outside(tmp_path: Path) -> None:
    built = wheel(tmp_path / "mailprov-0.1.0-py3-none-any.whl", {
        "provisioner/__init__.py": "",
        "provisioner/_data/roles/postfix/tasks/main.yml": "---\n",
        "provisioner/_data/playbooks/site.yml": "---\n",
        "provisioner/_data/ansible.cfg": "[defaults]\n",
        "provisioner/_data/inventories/sample/hosts.yml": "---\n",
        "provisioner/_data/roles/../../../escaped": "no",
        "mailprov-0.1.0.dist-info/METADATA": "Name: mailprov\n",
    })
    source = resolve(str(built))
    assert (source.kind, source.version, source.commit) == ("wheel", "0.1.0", None)
    assert source.label == "wheel mailprov-0.1.0-py3-none-any.whl"
    out = extract(source, tmp_path / "old")
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == ["ansible.cfg", "playbooks/site.yml", "roles/postfix/tasks/main.yml"]
    assert not (tmp_path / "escaped").exists()


def test_bad_wheels_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such wheel file"):
        resolve(str(tmp_path / "mailprov-0.1.0-py3-none-any.whl"))
    junk = tmp_path / "junk.whl"
    junk.write_text("not a zip")
    with pytest.raises(UsageError, match="not a wheel"):
        resolve(str(junk))
    other = wheel(tmp_path / "other-1.0-py3-none-any.whl", {"other/__init__.py": ""})
    with pytest.raises(UsageError, match=r"not a mailprov wheel .*provisioner/_data/playbooks/site\.yml"):
        resolve(str(other))
