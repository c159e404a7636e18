{#- A landed value as the quarantine keeps it: for a personal column of the source table
    (`personal_source_columns`), a marker that identifies no one, `<redacted: 23 chars>`
    (null stays null, so a missing value still reads as missing); any other column as
    landed. The length is kept to tell an empty or truncated value from a long one. -#}
{% macro redacted_raw_value(value, column_name, source_table) -%}
    {%- if column_name in personal_source_columns(source_table) -%}
        case when {{ value }} is not null
            then {{ dbt.concat(["'<redacted: '", "cast(" ~ dbt.length(value) ~ " as " ~ dbt.type_string() ~ ")", "' chars>'"]) }}
        end
    {%- else -%}
        {{ value }}
    {%- endif -%}
{%- endmacro %}
