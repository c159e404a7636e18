"""dbt-duckdb plugin: the segment and audience registry validators as SQL functions on every connection.

profiles.yml lists this module under the DuckDB output's `plugins:` (with `scripts` in
`module_paths`). On each new connection it registers

    segment_registry_verdict(registry_path varchar, parsed_json varchar, columns_json varchar)
        -> varchar

which runs scripts/segment_registry.py's `dbt_verdict_json`: the same checks, the same
messages as `python scripts/segment_registry.py validate`. The macro
validate_segment_registry calls it before any node runs. Likewise

    audience_registry_verdict(registry_path varchar, parsed_json varchar) -> varchar

runs scripts/audience_registry.py's `dbt_verdict_json` for validate_audience_registry, and

    segment_threshold_variants(rule varchar, conditions_json varchar, columns_json varchar,
                               changes_json varchar) -> varchar

runs scripts/segment_thresholds.py's `threshold_variants_json` for the macro
segment_threshold_variants (rpt_segment_threshold_sensitivity).
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

import audience_registry
import segment_registry
import segment_thresholds

FUNCTION_NAME = "segment_registry_verdict"
AUDIENCE_FUNCTION_NAME = "audience_registry_verdict"
THRESHOLDS_FUNCTION_NAME = "segment_threshold_variants"


class Plugin(BasePlugin):
    """Registers the registry verdicts and the threshold variants on the DuckDB connection dbt opens."""

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        conn.create_function(
            FUNCTION_NAME, segment_registry.dbt_verdict_json, ["VARCHAR", "VARCHAR", "VARCHAR"], "VARCHAR",
            side_effects=False,
        )
        conn.create_function(
            AUDIENCE_FUNCTION_NAME, audience_registry.dbt_verdict_json, ["VARCHAR", "VARCHAR"], "VARCHAR",
            side_effects=False,
        )
        conn.create_function(
            THRESHOLDS_FUNCTION_NAME, segment_thresholds.threshold_variants_json,
            ["VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR"], "VARCHAR", side_effects=False,
        )
