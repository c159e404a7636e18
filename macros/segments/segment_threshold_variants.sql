{#- The numeric thresholds of one segment's rule and behavioural conditions, each with the
    segment rewritten at every percentage change of the var segment_threshold_changes_pct
    (default -20, -10, 0, 10, 20; 0 is always added), worked out by
    scripts/segment_thresholds.py (what counts as a threshold and how integers round are
    documented there and in docs/measurement.md, "Refining segments"):
      rule        [{threshold_number, comparison_sql, compared_sql, threshold_value,
                    is_integer, variants: [{change_pct, varied_value, rule_sql}]}]
      conditions  [{path, operator, threshold_value,
                    variants: [{change_pct, varied_value, conditions}]}]
    DuckDB with the segment_registry_plugin asks the Python helper through the SQL function
    segment_threshold_variants; other adapters get no thresholds (and a warning), so
    rpt_segment_threshold_sensitivity is empty there. -#}
{% macro segment_threshold_variants(rule, conditions) %}
    {%- if not execute or (rule is none and conditions is none) -%}
        {{ return({'rule': [], 'conditions': []}) }}
    {%- endif -%}
    {{ return(adapter.dispatch('segment_threshold_variants', 'dynamic_segments')(rule, conditions)) }}
{% endmacro %}

{% macro duckdb__segment_threshold_variants(rule, conditions) %}
    {%- set plugin_modules = (target.get('plugins') or []) | map(attribute='module') | list -%}
    {%- if 'segment_registry_plugin' not in plugin_modules -%}
        {{ return(default__segment_threshold_variants(rule, conditions)) }}
    {%- endif -%}
    {%- set changes = var('segment_threshold_changes_pct') | list -%}
    {%- if 0 not in changes -%}
        {%- do changes.append(0) -%}
    {%- endif -%}
    {#- empty text, not null, for what the segment lacks: DuckDB does not call a Python
        function on a null argument -#}
    {%- set variants_query -%}
        select segment_threshold_variants(
            {{ segment_sql_string(rule or '') }},
            {{ segment_sql_string(tojson(conditions) if conditions is not none else '') }},
            {{ segment_sql_string(tojson(segment_rule_columns() or {})) }},
            {{ segment_sql_string(tojson(changes | sort)) }}
        ) as variants
    {%- endset -%}
    {{ return(fromjson(run_query(variants_query).columns[0].values()[0])) }}
{% endmacro %}

{% macro default__segment_threshold_variants(rule, conditions) %}
    {%- do exceptions.warn("segment_threshold_variants needs DuckDB with the segment_registry_plugin; rpt_segment_threshold_sensitivity is empty on this adapter.") -%}
    {{ return({'rule': [], 'conditions': []}) }}
{% endmacro %}
