{#- The predicate that keeps the rows of a table that only grows by loads (the staged event
    models) loaded after the newest load the last successful whole-project build checked
    (`raw_rows_accounted_after`); none without it. Used by `unique_across_loads` and the
    `__loaded_since_last_check__` placeholder of `get_where_subquery`. -#}
{% macro loaded_since_last_check(loaded_at_column='loaded_at') %}
    {{ return(later_than_timestamp(loaded_at_column, raw_rows_accounted_after())) }}
{% endmacro %}
