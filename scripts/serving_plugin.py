"""dbt-duckdb plugin: the file operations of a publish, as SQL functions.

DuckDB SQL can attach, fill, checkpoint and detach a new database file, but cannot rename
one. dbt-duckdb calls a plugin's ``configure_connection`` on the connection it opens (see
the plugin section of dbt-duckdb's README), so this plugin registers three functions there
that the publish macro (``macros/serving/publish_serving.sql``) calls:

* ``segments_serving_path()``: the serving file of this profile's warehouse
  (``scripts/serving.py``: ``$SEGMENTS_SERVING_PATH``, else beside the warehouse);
* ``segments_serving_stage_path(path)``: the stage file a publish attaches and fills;
* ``segments_serving_prepare(stage, path)``: checks the serving path and clears the stage;
* ``segments_serving_replace(stage, path)``: the atomic rename that publishes the stage;
* ``segments_restricted_path()``, ``segments_restricted_prepare(stage, path)`` and
  ``segments_restricted_replace(stage, path)``: the same for the restricted file
  (``$SEGMENTS_RESTRICTED_PATH``), whose stage is written under an owner-only umask and
  chmod-ed 0600 before the rename.

profiles.yml enables it (``plugins: [{module: serving_plugin}]``, with ``scripts`` in
``module_paths``).
"""

from __future__ import annotations

import os
from pathlib import Path

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

import serving


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        warehouse = self.creds.path if self.creds is not None else ""

        def serving_file() -> str:
            return str(serving.serving_path(warehouse))

        def stage(path: str) -> str:
            return str(serving.stage_path(Path(path)))

        def prepare(stage_file: str, path: str) -> str:
            try:
                serving.check_serving_path(Path(path), None if warehouse == ":memory:" else warehouse)
                serving.prepare_stage(Path(stage_file))
            except serving.ServingPathError as exc:
                return str(exc)
            return ""

        def replace(stage_file: str, path: str) -> str:
            try:
                serving.replace_serving_file(Path(stage_file), Path(path))
            except serving.ServingPathError as exc:
                return str(exc)
            return ""

        def restricted_file() -> str:
            return str(serving.restricted_path(warehouse))

        # The umask before a restricted publish: prepare sets an owner-only one, so DuckDB
        # creates the stage and its write-ahead log 0600; replace puts the old one back.
        saved_umask: list[int] = []

        def restricted_prepare(stage_file: str, path: str) -> str:
            try:
                serving.check_serving_path(Path(path), None if warehouse == ":memory:" else warehouse,
                                           env_var=serving.RESTRICTED_ENV_VAR,
                                           serving_file=serving.serving_path(warehouse))
                serving.prepare_stage(Path(stage_file))
            except serving.ServingPathError as exc:
                return str(exc)
            if not saved_umask:
                saved_umask.append(os.umask(serving.OWNER_ONLY_UMASK))
            return ""

        def restricted_replace(stage_file: str, path: str) -> str:
            try:
                serving.replace_serving_file(Path(stage_file), Path(path), mode=serving.OWNER_ONLY)
            except serving.ServingPathError as exc:
                return str(exc)
            finally:
                if saved_umask:
                    os.umask(saved_umask.pop())
            return ""

        # The checks and the rename answer a problem as text rather than raising, so the
        # macro can fail with that one line (DuckDB's error()) instead of a Python trace.
        # Side effects: DuckDB must call them once per query, never fold or cache them.
        for name, function, parameters in (
            ("segments_serving_path", serving_file, []),
            ("segments_serving_stage_path", stage, ["VARCHAR"]),
            ("segments_serving_prepare", prepare, ["VARCHAR", "VARCHAR"]),
            ("segments_serving_replace", replace, ["VARCHAR", "VARCHAR"]),
            ("segments_restricted_path", restricted_file, []),
            ("segments_restricted_prepare", restricted_prepare, ["VARCHAR", "VARCHAR"]),
            ("segments_restricted_replace", restricted_replace, ["VARCHAR", "VARCHAR"]),
        ):
            conn.create_function(name, function, parameters, "VARCHAR", side_effects=True)
