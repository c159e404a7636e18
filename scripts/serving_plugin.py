"""dbt-duckdb plugin: the file operations of a publish, as SQL functions.

DuckDB SQL can attach, fill, checkpoint and detach a new database file, but cannot rename
one. dbt-duckdb calls a plugin's ``configure_connection`` on the connection it opens (see
the plugin section of dbt-duckdb's README), so this plugin registers three functions there
that the publish macro (``macros/serving/publish_serving.sql``) calls:

* ``segments_serving_path()``: the serving file of this profile's warehouse
  (``scripts/serving.py``: ``$SEGMENTS_SERVING_PATH``, else beside the warehouse);
* ``segments_serving_stage_path(path)``: the stage file a publish attaches and fills;
* ``segments_serving_prepare(stage, path)``: checks the serving path and clears the stage;
* ``segments_serving_replace(stage, path)``: the atomic rename that publishes the stage.

profiles.yml enables it (``plugins: [{module: serving_plugin}]``, with ``scripts`` in
``module_paths``).
"""

from __future__ import annotations

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

        # The checks and the rename answer a problem as text rather than raising, so the
        # macro can fail with that one line (DuckDB's error()) instead of a Python trace.
        # Side effects: DuckDB must call them once per query, never fold or cache them.
        for name, function, parameters in (
            ("segments_serving_path", serving_file, []),
            ("segments_serving_stage_path", stage, ["VARCHAR"]),
            ("segments_serving_prepare", prepare, ["VARCHAR", "VARCHAR"]),
            ("segments_serving_replace", replace, ["VARCHAR", "VARCHAR"]),
        ):
            conn.create_function(name, function, parameters, "VARCHAR", side_effects=True)
