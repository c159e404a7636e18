{#- One CASE over the segment key column that evaluates, for each active non-default
    segment, one of its conditions from segment_definitions(): 'match_condition' (rule and
    ancestors), 'consent_condition' or 'membership_condition'. Other keys give false. -#}
{% macro segment_condition_case(segment_key_column, condition='match_condition') -%}
    case {{ segment_key_column }}
    {%- for segment in segment_definitions() if segment.status == 'active' and not segment.is_default %}
        when {{ segment_sql_string(segment.key) }} then {{ segment[condition] }}
    {%- endfor %}
        else false
    end
{%- endmacro %}
