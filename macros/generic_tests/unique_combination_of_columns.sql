{#- Fails for every combination of the columns that occurs more than once.

    With `built_at_column` (incremental models) and a last checked build
    (built_since_last_check), only the combinations whose first column occurs in a row
    built after it are counted, over every row of the table: a duplicate made of rows
    built before it was found by an earlier build, and any duplicate that includes a new
    row shares its first column with that row. -#}
{% test unique_combination_of_columns(model, combination_of_columns, built_at_column=none) %}
{%- set unchecked = built_since_last_check(built_at_column) if built_at_column else none -%}
{%- set lookup_column = combination_of_columns[0] -%}
select
    {{ combination_of_columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
{%- if unchecked %}
where {{ lookup_column }} in (
    select {{ lookup_column }}
    from {{ model }}
    where {{ unchecked }}
)
{%- endif %}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}
