{#- The var `raw_rows_accounted_after`: the newest load already checked by a successful
    whole-project build, passed by scripts/scheduled_build.py; none when not given or when
    `raw_rows_accounting_full` is true. Tests on event-sized tables check only what was
    loaded after it. -#}
{% macro raw_rows_accounted_after() %}
    {%- set value = timestamp_var('raw_rows_accounted_after') -%}
    {{ return(none if var('raw_rows_accounting_full', false) else value) }}
{% endmacro %}

{#- The predicate that keeps the rows of a table that only grows by loads (the staged event
    models) loaded after the newest load the last successful whole-project build checked
    (`raw_rows_accounted_after`); none without it. Used by `unique_across_loads` and the
    `__loaded_since_last_check__` placeholder of `get_where_subquery`. -#}
{% macro loaded_since_last_check(loaded_at_column='loaded_at') %}
    {{ return(later_than_timestamp(loaded_at_column, raw_rows_accounted_after())) }}
{% endmacro %}
