{#- A KPI ratio as a double: numerator / denominator, null when the denominator is 0 or
    null (an undefined rate, not a bad one: 0 would drag averages down and read as
    "nobody clicked"). -#}
{% macro kpi_rate(numerator, denominator) -%}
    case
        when coalesce({{ denominator }}, 0) != 0
            then cast({{ numerator }} as {{ type_double() }}) / {{ denominator }}
    end
{%- endmacro %}
