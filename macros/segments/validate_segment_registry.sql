{#- Stops compilation with one line per registry problem (see segment_registry_problems).
    Every segments model calls it through segment_definitions(), so an invalid registry
    fails the build before any membership is computed. Also callable on its own:
    `dbt run-operation validate_segment_registry`. -#}
{% macro validate_segment_registry() %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set problems = segment_registry_problems(segment_registry(), segment_rule_columns()) -%}
    {%- if problems | length > 0 -%}
        {{ exceptions.raise_compiler_error("The segment registry (models/marts/segments/_segment_registry.yml) is invalid:\n" ~ problems | join('\n')) }}
    {%- endif -%}
{% endmacro %}
