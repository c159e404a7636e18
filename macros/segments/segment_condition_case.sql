{#- One CASE over the segment key column that evaluates, for each active non-default
    segment (of evaluation level `level`, every level when none), one of its conditions from
    segment_definitions(): 'match_condition' (rules, behavioural conditions and ancestors),
    'consent_condition' or 'membership_condition'. Other keys give false. -#}
{% macro segment_condition_case(segment_key_column, condition='match_condition', level=none) -%}
    case {{ segment_key_column }}
    {%- for segment in segment_definitions() if segment.status == 'active' and not segment.is_default and (level is none or segment.level == level) %}
        when {{ segment_sql_string(segment.key) }} then {{ segment[condition] }}
    {%- endfor %}
        else false
    end
{%- endmacro %}
