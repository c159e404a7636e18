{#- Classifies each raw row of a base model as 'staged', 'duplicate' or 'quarantined'.
    A row with a quarantine reason is quarantined; among the remaining rows sharing
    the same natural key, the first delivered (by load time, file and position) is
    staged and every redelivery is a duplicate. Deterministic for the same raw data. -#}
{% macro row_disposition(natural_key, quarantine_reason_column='quarantine_reason') -%}
    case
        when {{ quarantine_reason_column }} is not null then 'quarantined'
        when row_number() over (
            partition by {{ quarantine_reason_column }}, {{ natural_key | join(', ') }}
            order by _loaded_at, _source_file, _file_row_number
        ) = 1 then 'staged'
        else 'duplicate'
    end
{%- endmacro %}
