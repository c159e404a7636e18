{#- The `raw_record` column of a base model: for a quarantined row, the raw row as readable
    text `column=value | column=value` (`<null>` for a missing value), so a rejected row
    can be inspected and replayed without going back to the file; null otherwise
    (`quarantined_raw_value`), so a batch does not build a string for every row. Each
    value is read from `<column>_raw` of the `classified` CTE; the label is the part of
    the column after its last `.`. -#}
{% macro quarantined_raw_record(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("'" ~ column.split(".")[-1] ~ "='") -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ "_raw as " ~ dbt.type_string() ~ "), '<null>')") -%}
        {%- if not loop.last -%}{%- do parts.append("' | '") -%}{%- endif -%}
    {%- endfor -%}
    {{ quarantined_raw_value(dbt.concat(parts)) }}
{%- endmacro %}
