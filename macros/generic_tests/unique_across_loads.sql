{#- Like `unique`, for a table that only grows by loads: fails for every value of the
    column that occurs more than once. With the var `raw_rows_accounted_after` (scheduled
    builds) only the values of rows loaded after it are looked up, against every row of
    the table, since an older duplicate pair was found by an earlier build. -#}
{% test unique_across_loads(model, column_name, loaded_at_column) %}
{%- set loaded_since_checked = loaded_since_last_check(loaded_at_column) -%}
{%- set row_filter -%}
    {{ column_name }} is not null
    {%- if loaded_since_checked %}
    and {{ column_name }} in (
        select {{ column_name }}
        from {{ model }}
        where {{ loaded_since_checked }}
    )
    {%- endif %}
{%- endset -%}
{{ duplicated_combinations(model, [column_name], row_filter) }}
{% endtest %}
