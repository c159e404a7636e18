{#- Sums `value` over the rows whose `date_column` falls in the last `days` days of the
    as_of point in time: the as_of day and the `days` - 1 days before it, so a 30-day
    window holds exactly the rows with fewer than 30 days since them. Optional `condition`
    restricts the rows counted. Every `*_last_N_days` feature uses this one definition.
    `value` is an integer expression and the sum a bigint (DuckDB would widen it to a
    128-bit HUGEINT, several times slower to store and scan). -#}
{% macro sum_over_last_days(value, date_column, days, condition=none) -%}
    cast(sum(
        case
            when {% if condition %}{{ condition }} and {% endif -%}
                {{ date_column }} > {{ dbt.dateadd('day', -1 * days, as_of_date()) }}
                then {{ value }}
            else 0
        end
    ) as {{ dbt.type_bigint() }})
{%- endmacro %}
