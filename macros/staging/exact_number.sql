{#- The landed number read exactly (38 digits, 18 of them decimals), before it is fitted
    to the column's type, so out-of-bounds and rounded values can be told apart. Shared by
    `plausible_typed_value` (the typed value) and `plausibility_checks` (the reasons). -#}
{% macro exact_number(raw_column) -%}
    {{ parse_number(raw_column, 'decimal(38, 18)') }}
{%- endmacro %}
