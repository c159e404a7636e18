{#- Fails for every combination of the columns that occurs more than once.

    The combinations are first grouped by their `key_hash`, and only the rows of hashes
    that occur more than once are grouped on the columns themselves: on event-sized
    tables of text keys that halves the time and keeps the grouping within memory.

    With `built_at_column` (incremental models) and a last checked build
    (built_since_last_check), only the combinations whose first column occurs in a row
    built after it are counted, over every row of the table: a duplicate made of rows
    built before it was found by an earlier build, and any duplicate that includes a new
    row shares its first column with that row. -#}
{% test unique_combination_of_columns(model, combination_of_columns, built_at_column=none) %}
{%- set unchecked = built_since_last_check(built_at_column) if built_at_column else none -%}
{%- set lookup_column = combination_of_columns[0] -%}
{%- set lookup = none -%}
{%- if unchecked -%}
    {%- set lookup -%}
    {{ lookup_column }} in (
        select {{ lookup_column }}
        from {{ model }}
        where {{ unchecked }}
    )
    {%- endset -%}
{%- endif -%}
{{ duplicated_combinations(model, combination_of_columns, lookup) }}
{% endtest %}
