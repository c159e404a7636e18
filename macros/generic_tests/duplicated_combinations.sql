{#- The select behind the uniqueness tests (`unique_combination_of_columns`, through it
    `unique_across_builds`, and `unique_across_loads`): every combination of `columns` of
    `model` that occurs more than once among the rows that pass `row_filter` (a predicate,
    or none), with its count. The rows are first grouped by their `key_hash`, and only the
    rows of hashes that occur more than once are grouped on the columns themselves. -#}
{% macro duplicated_combinations(model, columns, row_filter=none) -%}
{%- set key_hash_expression = key_hash(columns) -%}
with

repeated_hashes as (
    select {{ key_hash_expression }} as key_hash
    from {{ model }}
    {%- if row_filter %}
    where {{ row_filter }}
    {%- endif %}
    group by {{ key_hash_expression }}
    having count(*) > 1
)

select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
where {{ key_hash_expression }} in (select repeated_hashes.key_hash from repeated_hashes)
    {%- if row_filter %}
    and {{ row_filter }}
    {%- endif %}
group by {{ columns | join(', ') }}
having count(*) > 1
{%- endmacro %}
