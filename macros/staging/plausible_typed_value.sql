{#- The typed value of a source column, parsed as its plausibility rules declare
    (`plausibility_rules`): a number as its `data_type` (null outside its bounds, so an
    implausible value never reaches the type's limit, and null when the type would round
    it), a timestamp as UTC, a birth date as a date, an email normalised, a phone trimmed.
    Text that cannot be parsed becomes null, and the column's `plausibility_checks` name
    the reason. -#}
{% macro plausible_typed_value(source_name, table_name, column_name, raw_expression) -%}
    {%- set rules = plausibility_rules(source_name, table_name, column_name) -%}
    {%- if rules.kind == 'number' -%}
        {%- set exact = exact_number(raw_expression) -%}
        case
            when {{ exact }} between {{ rules.min }} and {{ rules.max }}
                and {{ exact }} = cast({{ exact }} as {{ rules.data_type }})
                then cast({{ exact }} as {{ rules.data_type }})
        end
    {%- elif rules.kind == 'timestamp' -%}
        {{ parse_timestamp_utc(raw_expression) }}
    {%- elif rules.kind == 'birth_date' -%}
        {{ parse_date(raw_expression) }}
    {%- elif rules.kind == 'email' -%}
        {{ normalize_email(raw_expression) }}
    {%- else -%}
        {{ clean_text(raw_expression) }}
    {%- endif -%}
{%- endmacro %}
