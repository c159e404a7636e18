{#- The `raw_record` column of a base model: for a quarantined row, the raw row as readable
    text `column=value | column=value` (`<null>` for a missing value), so a rejected row
    can be inspected and replayed without going back to the file; null otherwise
    (`quarantined_raw_value`), so a batch does not build a string for every row. Each
    value is read from `<column>_raw` of the `classified` CTE; the label is the part of
    the column after its last `.`. A personal column of `source_table` (`<source>.<table>`,
    see `personal_source_columns`) shows only `<redacted: N chars>`. -#}
{% macro quarantined_raw_record(columns, source_table) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- set label = column.split(".")[-1] -%}
        {%- set value = redacted_raw_value("cast(" ~ column ~ "_raw as " ~ dbt.type_string() ~ ")", label, source_table) -%}
        {%- do parts.append("'" ~ label ~ "='") -%}
        {%- do parts.append("coalesce(" ~ value ~ ", '<null>')") -%}
        {%- if not loop.last -%}{%- do parts.append("' | '") -%}{%- endif -%}
    {%- endfor -%}
    {{ quarantined_raw_value(dbt.concat(parts)) }}
{%- endmacro %}
