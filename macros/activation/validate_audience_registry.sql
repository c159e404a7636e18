{#- Stops compilation with one line per audience registry problem, worded by
    scripts/audience_registry.py (see audience_registry_verdict). The on-run-start hook calls
    it, so every dbt build or run checks the registry before any node runs; the
    audience_registry macro calls it again, which also covers compiling or unit testing one
    audience model alone. Also callable on its own:
    `dbt run-operation validate_audience_registry`. -#}
{% macro validate_audience_registry() %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set registry_macro = audience_registry.macro -%}
    {%- set registry_file = (registry_macro.patch_path or '').split('://')[-1] -%}
    {%- set project_dir = invocation_args_dict.get('project_dir') -%}
    {%- set verdict = audience_registry_verdict(
        (project_dir ~ '/' ~ registry_file) if project_dir and registry_file else registry_file,
        registry_macro.meta or {}
    ) -%}
    {%- if verdict.problems | length > 0 -%}
        {{ exceptions.raise_compiler_error("The audience registry (models/marts/activation/_audience_registry.yml) is invalid:\n" ~ verdict.problems | join('\n')) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}


{#- The audience registry's verdict, {'problems': [...]}: on DuckDB from the plugin's SQL
    function (scripts/segment_registry_plugin.py); elsewhere the registry must carry the
    checksum `python scripts/audience_registry.py checksum` printed for it, in
    SEGMENTS_AUDIENCE_REGISTRY_CHECKSUM. -#}
{% macro audience_registry_verdict(registry_path, meta) %}
    {{ return(adapter.dispatch('audience_registry_verdict', 'dynamic_segments')(registry_path, meta)) }}
{% endmacro %}

{% macro duckdb__audience_registry_verdict(registry_path, meta) %}
    {%- set plugin_modules = (target.get('plugins') or []) | map(attribute='module') | list -%}
    {%- if 'segment_registry_plugin' not in plugin_modules -%}
        {{ return(default__audience_registry_verdict(registry_path, meta)) }}
    {%- endif -%}
    {%- set verdict_query -%}
        select audience_registry_verdict(
            {{ segment_sql_string(registry_path) }},
            {{ segment_sql_string(tojson(meta)) }}
        ) as verdict
    {%- endset -%}
    {{ return(fromjson(run_query(verdict_query).columns[0].values()[0])) }}
{% endmacro %}

{% macro default__audience_registry_verdict(registry_path, meta) %}
    {%- set checksum = local_md5(tojson(meta, sort_keys=true)) -%}
    {%- if env_var('SEGMENTS_AUDIENCE_REGISTRY_CHECKSUM', '') == checksum -%}
        {{ return({'problems': []}) }}
    {%- endif -%}
    {{ return({'problems': [
        "registry: not validated since it last changed (checksum " ~ checksum ~ "); run "
        ~ "`python scripts/audience_registry.py checksum` and set SEGMENTS_AUDIENCE_REGISTRY_CHECKSUM to what it prints"
    ]}) }}
{% endmacro %}
