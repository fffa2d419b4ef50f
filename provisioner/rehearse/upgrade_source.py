"""The earlier mailprov a `rehearse --upgrade-from REF` starts from: a git ref or a wheel.

:func:`resolve` checks REF and says what it is (a commit of this repository,
or a wheel file), raising :class:`UsageError` with the fix before anything
starts. :func:`extract` then writes that release's deploy files (roles/,
playbooks/, ansible.cfg: what it shipped) into a folder, which
:func:`provisioner.runner.run.ansible_env` takes as its ``bundle``.

A git ref needs a git checkout of mailprov: the one mailprov runs from (an
editable install) or ``--repo PATH``. An installed wheel has no history, so
there only a wheel file, or a ref with ``--repo``, works.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from provisioner.problems import UsageError
from provisioner.resources import PACKAGE_DATA, REPO_ROOT

# What a release ships for a deploy; ansible.cfg is optional (the defaults work without).
DEPLOY_FILES = ("roles", "playbooks", "ansible.cfg")
REQUIRED = ("playbooks/site.yml", "roles")
WHEEL_DATA = "provisioner/_data/"
GIT_TIMEOUT = 120


@dataclass(frozen=True)
class Source:
    """An earlier release, checked: a commit of ``repo`` or a wheel file."""

    ref: str  # as the user wrote it
    kind: str  # "git" | "wheel"
    commit: str | None = None  # full sha, for git
    repo: Path | None = None
    wheel: Path | None = None
    version: str | None = None  # from the wheel's file name

    @property
    def label(self) -> str:
        if self.kind == "git":
            commit = self.commit or ""
            return commit[:12] if commit.startswith(self.ref) else f"{self.ref} ({commit[:12]})"
        return f"wheel {self.wheel.name if self.wheel else self.ref}"


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, timeout=GIT_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise UsageError("--upgrade-from: git is not installed (apt-get install git)") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"--upgrade-from: git {args[0]} in {repo} took over {GIT_TIMEOUT} s") from None


def checkout_root() -> Path | None:
    """The git checkout mailprov runs from, or None (an installed wheel)."""
    if PACKAGE_DATA.exists() or not (REPO_ROOT / "playbooks").is_dir():
        return None
    top = _git(REPO_ROOT, "rev-parse", "--show-toplevel")
    if top.returncode != 0 or Path(top.stdout.decode().strip()).resolve() != REPO_ROOT:
        return None
    return REPO_ROOT


def resolve(ref: str, repo: Path | None = None) -> Source:
    """Check REF; UsageError (exit 2) with what to do when it cannot be used."""
    if not ref.strip():
        raise UsageError("--upgrade-from: empty; give a git ref (tag, branch, commit) or a .whl file")
    if ref.endswith(".whl") or Path(ref).is_file():
        return _resolve_wheel(Path(ref))
    root = repo if repo is not None else checkout_root()
    if root is None:
        raise UsageError(
            f"--upgrade-from {ref}: not a file, and this mailprov is an installed package, not a git "
            "checkout, so it cannot look up git refs; pass the earlier release's wheel "
            "(--upgrade-from mailprov-X.Y.Z-py3-none-any.whl) or a checkout with --repo PATH"
        )
    return _resolve_git(ref, root)


def _resolve_git(ref: str, repo: Path) -> Source:
    if not repo.is_dir():
        raise UsageError(f"--repo {repo}: no such folder")
    if _git(repo, "rev-parse", "--git-dir").returncode != 0:
        raise UsageError(f"--repo {repo}: not a git checkout (run `git clone` of mailprov there)")
    if ref.startswith("-"):
        raise UsageError(f"--upgrade-from {ref}: not a git ref")
    found = _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if found.returncode != 0:
        shallow = _git(repo, "rev-parse", "--is-shallow-repository").stdout.strip() == b"true"
        hint = " (this clone is shallow: run `git fetch --unshallow`)" if shallow else ""
        raise UsageError(
            f"--upgrade-from {ref}: no such tag, branch or commit in {repo}{hint}; "
            "list them with `git tag` / `git log --oneline`"
        )
    commit = found.stdout.decode().strip()
    missing = [p for p in REQUIRED if _git(repo, "cat-file", "-e", f"{commit}:{p}").returncode != 0]
    if missing:
        raise UsageError(
            f"--upgrade-from {ref}: commit {commit[:12]} has no {' and no '.join(missing)}; "
            "pick a commit that already had working roles"
        )
    return Source(ref=ref, kind="git", commit=commit, repo=repo)


def _resolve_wheel(path: Path) -> Source:
    if not path.is_file():
        raise UsageError(f"--upgrade-from {path}: no such wheel file")
    try:
        with zipfile.ZipFile(path) as wheel:
            names = set(wheel.namelist())
    except (zipfile.BadZipFile, OSError) as err:
        raise UsageError(f"--upgrade-from {path}: not a wheel (a zip file): {err}") from None
    missing = [p for p in REQUIRED if not any(n.startswith(WHEEL_DATA + p) for n in names)]
    if missing:
        raise UsageError(
            f"--upgrade-from {path}: not a mailprov wheel with its deploy files (no "
            f"{', '.join(WHEEL_DATA + p for p in missing)}); build one with `python -m build --wheel`"
        )
    parts = path.name.split("-")
    version = parts[1] if len(parts) > 2 else None
    return Source(ref=str(path), kind="wheel", wheel=path.resolve(), version=version)


def extract(source: Source, dest: Path) -> Path:
    """Write the release's deploy files into ``dest`` (created); returns ``dest``."""
    dest.mkdir(mode=0o700, parents=True, exist_ok=False)
    if source.kind == "git":
        _extract_git(source, dest)
    else:
        _extract_wheel(source, dest)
    return dest


def _extract_git(source: Source, dest: Path) -> None:
    assert source.repo is not None and source.commit is not None
    present = [p for p in DEPLOY_FILES if _git(source.repo, "cat-file", "-e", f"{source.commit}:{p}").returncode == 0]
    archive = _git(source.repo, "archive", "--format=tar", source.commit, *present)
    if archive.returncode != 0:
        raise UsageError(f"--upgrade-from {source.ref}: git archive failed: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")


def _safe_member(name: str) -> PurePosixPath | None:
    """The part under provisioner/_data/ of a wheel entry we extract, or None."""
    if not name.startswith(WHEEL_DATA) or name.endswith("/"):
        return None
    rel = PurePosixPath(name[len(WHEEL_DATA):])
    if rel.is_absolute() or ".." in rel.parts or rel.parts[0] not in DEPLOY_FILES:
        return None
    return rel


def _extract_wheel(source: Source, dest: Path) -> None:
    assert source.wheel is not None
    with zipfile.ZipFile(source.wheel) as wheel:
        for info in wheel.infolist():
            rel = _safe_member(info.filename)
            if rel is None:
                continue
            target = dest.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(wheel.read(info))
