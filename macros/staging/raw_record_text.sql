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
    case when row_disposition = 'quarantined' then {{ raw_record_text(columns, '_raw') }} end
{%- endmacro %}
