{#- True when a segment's member count moved abnormally from one day to the next in the
    given direction ('growth' or 'shrink'): by more than the var
    segment_size_change_max_ratio of the day before's count AND by at least the var
    segment_size_change_min_customers customers, so a tiny segment does not flap. Growth from
    an empty segment needs only the absolute floor. False when either count is null. -#}
{% macro segment_size_change_is_abnormal(previous_count, current_count, direction) -%}
    {%- set max_ratio = var('segment_size_change_max_ratio') | float -%}
    {%- set min_customers = var('segment_size_change_min_customers') | int -%}
    {%- if direction == 'growth' -%}
        {%- set change = '(' ~ current_count ~ ' - ' ~ previous_count ~ ')' -%}
    {%- elif direction == 'shrink' -%}
        {%- set change = '(' ~ previous_count ~ ' - ' ~ current_count ~ ')' -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("segment_size_change_is_abnormal: direction must be 'growth' or 'shrink', got '" ~ direction ~ "'") }}
    {%- endif -%}
    coalesce(
        {{ change }} >= {{ min_customers }}
        and {{ change }} > {{ max_ratio }} * {{ previous_count }},
        false
    )
{%- endmacro %}
