{#- dbt's own get_where_subquery (the relation a data test reads, narrowed by its `where`
    config), plus two placeholders:
    - `__built_since_last_check__` keeps only the rows built after the last checked build
      (built_since_last_check), and every row when there is none. Row-level tests
      (not_null, accepted_values, accepted_range, expression_is_true) of incremental
      models use it: a row that passed once and was not rewritten still passes.
    - `__loaded_since_last_check__` keeps only the rows whose `loaded_at` is after the
      newest load the last successful whole-project build checked
      (raw_rows_accounted_after), and every row when there is none. Row-level tests of
      the staged event models use it: their rows are appended once per load and never
      rewritten, so a row that passed once still passes.
    The `where` config cannot call project macros itself; overriding this macro is dbt's
    documented way to template it. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__built_since_last_check__' in where -%}
        {%- set where = where | replace('__built_since_last_check__', built_since_last_check() or '1 = 1') -%}
    {%- endif -%}
    {%- if where and '__loaded_since_last_check__' in where -%}
        {%- set where = where | replace('__loaded_since_last_check__', loaded_since_last_check() or '1 = 1') -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
