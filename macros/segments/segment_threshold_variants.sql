{#- The numeric thresholds of one segment rule, each with the rule rewritten at every
    percentage change of the var segment_threshold_changes_pct (default -20, -10, 0, 10,
    20): a list of {threshold_number, comparison_sql, compared_sql, threshold_value,
    is_integer, variants: [{change_pct, varied_value, rule_sql}]}, worked out by
    scripts/segment_thresholds.py (what counts as a threshold and how integers round are
    documented there and in docs/measurement.md, "Refining segments").
    DuckDB with the segment_registry_plugin asks the Python helper through the SQL function
    segment_rule_threshold_variants; other adapters get an empty list (and a warning), so
    rpt_segment_threshold_sensitivity is empty there. -#}
{% macro segment_threshold_variants(rule) %}
    {%- if not execute or rule is none -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return(adapter.dispatch('segment_threshold_variants', 'dynamic_segments')(rule)) }}
{% endmacro %}

{% macro duckdb__segment_threshold_variants(rule) %}
    {%- set plugin_modules = (target.get('plugins') or []) | map(attribute='module') | list -%}
    {%- if 'segment_registry_plugin' not in plugin_modules -%}
        {{ return(default__segment_threshold_variants(rule)) }}
    {%- endif -%}
    {%- set changes = var('segment_threshold_changes_pct') | list -%}
    {%- if 0 not in changes -%}
        {%- do changes.append(0) -%}
    {%- endif -%}
    {%- set variants_query -%}
        select segment_rule_threshold_variants(
            {{ segment_sql_string(rule) }},
            {{ segment_sql_string(tojson(segment_rule_columns() or {})) }},
            {{ segment_sql_string(tojson(changes | sort)) }}
        ) as variants
    {%- endset -%}
    {{ return(fromjson(run_query(variants_query).columns[0].values()[0])) }}
{% endmacro %}

{% macro default__segment_threshold_variants(rule) %}
    {%- do exceptions.warn("segment_threshold_variants needs DuckDB with the segment_registry_plugin; rpt_segment_threshold_sensitivity is empty on this adapter.") -%}
    {{ return([]) }}
{% endmacro %}
