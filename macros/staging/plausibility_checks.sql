{#- The `when ... then '<reason>'` clauses that check one source column against the
    plausibility rules its source declares (`plausibility_rules`). A base model puts them
    in its `quarantine_reason` case for a column the record cannot do without, or in the
    `<column>_null_reason` case of an optional attribute it nulls instead. The landed text
    is read from `<column>_raw`, the typed value from `<column>` (as typed by
    `plausible_typed_value`). Nothing is rounded or clamped: a value the type would round
    (`2.5` as a whole quantity, `0.001` as cents) or outside the bounds gets its reason.
    Reasons, by kind:
      number     missing_<c>, unparseable_<c>, <c>_below_plausible_min,
                 <c>_above_plausible_max, fractional_<c> (a whole-number type),
                 <c>_too_precise (more decimals than the type keeps)
      timestamp  missing_<c>, <c>_utc_offset_out_of_range (outside -12:00..+14:00),
                 unparseable_<c>, <c>_before_business_start, <c>_in_future (later than
                 the load plus the clock-skew allowance)
      birth_date unparseable_<c>, <c>_in_future, <c>_age_above_plausible_max,
                 <c>_age_below_plausible_min (ages at the record's own time)
      email      missing_<c>, invalid_<c>
      phone      missing_<c>, invalid_<c>
    `missing_<c>` only for a column not declared `optional`. -#}
{% macro plausibility_checks(source_name, table_name, column_name) -%}
    {%- set rules = plausibility_rules(source_name, table_name, column_name) -%}
    {%- set raw_column = column_name ~ '_raw' -%}
    {%- set required = not rules.get('optional', false) -%}
    {%- if required and rules.kind != 'unchecked' %}
    {{ quarantine_when_missing(raw_column) }}
    {%- endif -%}
    {%- if rules.kind == 'number' %}
    {%- set exact = exact_number(raw_column) -%}
    {%- set whole = rules.data_type | lower | replace(' ', '') in ['bigint', 'int8', 'long', 'integer', 'int', 'int4'] %}
    when {{ clean_text(raw_column) }} is not null and {{ exact }} is null
        then 'unparseable_{{ column_name }}'
    when {{ exact }} < {{ rules.min }} then '{{ column_name }}_below_plausible_min'
    when {{ exact }} > {{ rules.max }} then '{{ column_name }}_above_plausible_max'
    when {{ exact }} <> cast({{ exact }} as {{ rules.data_type }})
        then '{{ "fractional_" ~ column_name if whole else column_name ~ "_too_precise" }}'
    {%- elif rules.kind == 'timestamp' %}
    {#- Date and time, then a numeric UTC offset outside -12:00..+14:00 (hours past the
        range, minutes past an end of it, or minutes of 60 and more): one pattern, read
        once per row. -#}
    {%- set date_time = "\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?\\s*" -%}
    {%- set offset_out_of_range = "(\\+(1[5-9]|[2-9]\\d)(:?\\d{2})?|\\+14:?(0[1-9]|[1-9]\\d)"
        ~ "|-(1[3-9]|[2-9]\\d)(:?\\d{2})?|-12:?(0[1-9]|[1-9]\\d)|[+-]\\d{2}:?[6-9]\\d)" -%}
    {%- set not_before = rules.get('not_before') or var('business_started_on') %}
    when {{ matches_pattern('trim(' ~ raw_column ~ ')', date_time ~ offset_out_of_range) }}
        then '{{ column_name }}_utc_offset_out_of_range'
    {{ quarantine_when_unparseable(raw_column, column_name) }}
    when {{ column_name }} < cast('{{ not_before }}' as {{ dbt.type_timestamp() }})
        then '{{ column_name }}_before_business_start'
    when {{ column_name }} > {{ dbt.dateadd('minute', var('clock_skew_allowance_minutes') | int, '_loaded_at') }}
        then '{{ column_name }}_in_future'
    {%- elif rules.kind == 'birth_date' %}
    {%- set measured_at = rules.get('measured_at') or '_loaded_at' -%}
    {%- set min_age = rules.get('min_age_years', 0) | int -%}
    {%- set max_age = rules.get('max_age_years', 120) | int %}
    {{ quarantine_when_unparseable(raw_column, column_name) }}
    when {{ column_name }} > cast({{ measured_at }} as date) then '{{ column_name }}_in_future'
    when {{ column_name }} < {{ dbt.dateadd('year', -1 * max_age, 'cast(' ~ measured_at ~ ' as date)') }}
        then '{{ column_name }}_age_above_plausible_max'
    {%- if min_age > 0 %}
    when {{ column_name }} > {{ dbt.dateadd('year', -1 * min_age, 'cast(' ~ measured_at ~ ' as date)') }}
        then '{{ column_name }}_age_below_plausible_min'
    {%- endif -%}
    {%- elif rules.kind == 'email' %}
    {{ quarantine_when_invalid_email(raw_column) }}
    {%- elif rules.kind == 'phone' %}
    when {{ clean_text(raw_column) }} is not null
        and not {{ matches_pattern('trim(' ~ raw_column ~ ')', "\\+?[0-9][0-9 ().-]{5,22}[0-9]") }}
        then 'invalid_{{ column_name }}'
    {%- endif -%}
{%- endmacro %}
