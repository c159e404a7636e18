{#- A raw value a base model keeps for its quarantine only (the raw key of
    `stg_<source>__quarantined_rows`): the value on a quarantined row, null on staged and
    duplicate rows, whose typed columns already hold it. Kept on every row, the raw key of
    an event table was a second copy of its key column, written for every event. -#}
{% macro quarantined_raw_value(value) -%}
    case when row_disposition = 'quarantined' then {{ value }} end
{%- endmacro %}
