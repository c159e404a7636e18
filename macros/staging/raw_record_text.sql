{#- Renders a raw row as readable text `column=value | column=value` for the quarantine,
    so a rejected row can be inspected and replayed without going back to the file.
    Each column is read from `<column><suffix>`: base models carry the raw values as
    `<column>_raw` next to the typed ones. -#}
{% macro raw_record_text(columns, suffix='') -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("'" ~ column.split(".")[-1] ~ "='") -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ suffix ~ " as " ~ dbt.type_string() ~ "), '<null>')") -%}
        {%- if not loop.last -%}{%- do parts.append("' | '") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}

{#- The `raw_record` column of a base model: the raw row as text for a quarantined row,
    null otherwise. Rendered only for quarantined rows, so a batch does not build a
    string for every row. Reads `<column>_raw` of the `classified` CTE. -#}
{% macro quarantined_raw_record(columns) -%}
    {{ quarantined_raw_value(raw_record_text(columns, '_raw')) }}
{%- endmacro %}

{#- A raw value a base model keeps for its quarantine only (the raw key of
    `stg_<source>__quarantined_rows`): the value on a quarantined row, null on staged and
    duplicate rows, whose typed columns already hold it. Kept on every row, the raw key of
    an event table was a second copy of its key column, written for every event. -#}
{% macro quarantined_raw_value(value) -%}
    case when row_disposition = 'quarantined' then {{ value }} end
{%- endmacro %}
