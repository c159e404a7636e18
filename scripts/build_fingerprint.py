"""The fingerprint of a scheduled build: everything its results depend on.

* the loader's high-water mark: count, rows and newest ``loaded_at`` of the files recorded
  ``loaded`` in ``raw.ingestion_ledger`` (failed or skipped files change no data);
* the resolved ``as_of`` day (``run_parameters.resolve_as_of``);
* the ``--vars`` and the other dbt build arguments passed;
* a sha256 over the project's code and config: the model, macro, seed, test (not the
  pytest suites in ``tests/python``) and snapshot paths of ``dbt_project.yml``, that file,
  ``profiles.yml`` and any package files;
* the dbt-core, dbt-duckdb and duckdb versions.

The marks the gate passes (``raw_rows_accounted_after``, ``last_checked_build_at``) are not
part of it: they follow from the recorded builds.
"""

from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from build_errors import UsageError
from run_parameters import canonical, load_project, normalised_dbt_args, resolve_as_of

# dbt_project.yml keys of the folders whose files change what a build produces, with
# dbt's defaults. Analyses are compiled but never built; docs blocks live in these folders.
PROJECT_PATH_KEYS = {
    "model-paths": ["models"],
    "macro-paths": ["macros"],
    "seed-paths": ["seeds"],
    "test-paths": ["tests"],
    "snapshot-paths": ["snapshots"],
}
# pytest suites inside a test path are not dbt tests.
PYTEST_DIR = "python"
PROJECT_FILES = ("dbt_project.yml", "packages.yml", "dependencies.yml", "package-lock.yml")
VERSIONED_PACKAGES = ("dbt-core", "dbt-duckdb", "duckdb")


def project_folders(project: dict[str, Any]) -> list[str]:
    folders: list[str] = []
    for key, default in PROJECT_PATH_KEYS.items():
        value = project.get(key, default)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise UsageError(f"dbt_project.yml: {key} must be a list of folders, got {value!r}")
        folders += [item for item in value if item not in folders]
    return folders


def code_files(project_dir: Path, project: dict[str, Any]) -> dict[str, Path]:
    """Files whose content can change a build's results, keyed by a stable name."""
    files: dict[str, Path] = {}
    test_paths = project.get("test-paths", PROJECT_PATH_KEYS["test-paths"])
    test_paths = [test_paths] if isinstance(test_paths, str) else test_paths
    skipped = {(project_dir / folder / PYTEST_DIR).resolve() for folder in test_paths}
    for folder in project_folders(project):
        root = project_dir / folder
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            dirnames[:] = sorted(
                name
                for name in dirnames
                if not name.startswith(".")
                and name != "__pycache__"
                and (here / name).resolve() not in skipped
            )
            for name in filenames:
                if not name.startswith("."):
                    path = here / name
                    files[path.relative_to(project_dir).as_posix()] = path
    for name in PROJECT_FILES:
        if (project_dir / name).is_file():
            files[name] = project_dir / name
    profiles_dir = Path(os.environ.get("DBT_PROFILES_DIR") or project_dir)
    profiles = (profiles_dir if profiles_dir.is_absolute() else project_dir / profiles_dir)
    if (profiles / "profiles.yml").is_file():
        files["<profiles>/profiles.yml"] = profiles / "profiles.yml"
    return files


def code_checksum(project_dir: Path, project: dict[str, Any]) -> dict[str, Any]:
    digest = hashlib.sha256()
    files = code_files(project_dir, project)
    for name in sorted(files):
        try:
            content = files[name].read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {files[name]}: {exc.strerror or exc}") from None
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return {"sha256": digest.hexdigest(), "files": len(files)}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def fingerprint_parts(
    project_dir: Path, dbt_args: list[str], ledger: dict[str, Any] | None, today: str
) -> dict[str, Any]:
    args, cli_vars = normalised_dbt_args(dbt_args)
    project = load_project(project_dir)
    return {
        "ledger": ledger,
        "as_of": resolve_as_of(cli_vars, project, today),
        "vars": cli_vars,
        "dbt_args": args,
        "code": code_checksum(project_dir, project),
        "versions": package_versions(),
    }


def fingerprint_of(parts: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(parts).encode()).hexdigest()


def describe(parts: dict[str, Any]) -> str:
    ledger = parts["ledger"]
    if ledger is None:
        ledger_text = "no ingestion ledger"
    else:
        ledger_text = (
            f"{ledger['loaded_files']} loaded files, last loaded at {ledger['last_loaded_at']}"
        )
    return (
        f"ledger: {ledger_text}; as_of {parts['as_of']}; vars {canonical(parts['vars'])}; "
        f"dbt build {' '.join(parts['dbt_args'])}; code sha256 {parts['code']['sha256'][:12]} "
        f"({parts['code']['files']} files); dbt-core {parts['versions'].get('dbt-core')}"
    )
