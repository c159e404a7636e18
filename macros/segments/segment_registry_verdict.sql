{#- The verdict of scripts/segment_registry.py on the segment registry, as a mapping
    {'problems': [...], 'warnings': [...]}: the Python validator is the one authority, and
    no check is written again in Jinja.
    DuckDB with the segment_registry_plugin (profiles.yml) asks the validator itself, through
    the SQL function the plugin registers: it validates the registry file as written and
    checks that it holds what dbt parsed. Every other adapter (or DuckDB without the plugin)
    accepts the registry only when its checksum equals SEGMENTS_REGISTRY_CHECKSUM, which
    `python scripts/segment_registry.py checksum` prints for a registry it validated. -#}
{% macro segment_registry_verdict(registry_path, segments, rule_columns) %}
    {{ return(adapter.dispatch('segment_registry_verdict', 'dynamic_segments')(registry_path, segments, rule_columns)) }}
{% endmacro %}

{% macro duckdb__segment_registry_verdict(registry_path, segments, rule_columns) %}
    {%- set plugin_modules = (target.get('plugins') or []) | map(attribute='module') | list -%}
    {%- if 'segment_registry_plugin' not in plugin_modules -%}
        {{ return(default__segment_registry_verdict(registry_path, segments, rule_columns)) }}
    {%- endif -%}
    {%- set verdict_query -%}
        select segment_registry_verdict(
            {{ segment_sql_string(registry_path) }},
            {{ segment_sql_string(tojson(segments)) }},
            {{ segment_sql_string(tojson(rule_columns)) }}
        ) as verdict
    {%- endset -%}
    {{ return(fromjson(run_query(verdict_query).columns[0].values()[0])) }}
{% endmacro %}

{% macro default__segment_registry_verdict(registry_path, segments, rule_columns) %}
    {%- set checksum = local_md5(tojson(segments, sort_keys=true)) -%}
    {%- if env_var('SEGMENTS_REGISTRY_CHECKSUM', '') == checksum -%}
        {{ return({'problems': [], 'warnings': []}) }}
    {%- endif -%}
    {{ return({'problems': [
        "registry: not validated since it last changed (checksum " ~ checksum ~ "); run "
        ~ "`python scripts/segment_registry.py checksum` and set SEGMENTS_REGISTRY_CHECKSUM to what it prints"
    ], 'warnings': []}) }}
{% endmacro %}
