{#- The var `raw_rows_accounted_after`: the newest load already checked by a successful
    whole-project build, passed by scripts/scheduled_build.py; none when not given or when
    `raw_rows_accounting_full` is true. Tests on event-sized tables check only what was
    loaded after it. -#}
{% macro raw_rows_accounted_after() %}
    {%- set value = timestamp_var('raw_rows_accounted_after') -%}
    {{ return(none if var('raw_rows_accounting_full', false) else value) }}
{% endmacro %}
