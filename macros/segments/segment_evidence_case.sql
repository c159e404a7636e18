{#- One CASE over a segment key column that gives, per active segment, the profile values
    its membership condition reads as a JSON object (json_object_text): the columns of the
    segment's rule, its ancestors' rules, the default's completeness guard and, when every
    channel needs consent, the consent flags. For the default segment, the columns of its
    too-incomplete condition. Null for other keys. `qualifier` names the relation holding
    the dim_customers columns. -#}
{% macro segment_evidence_case(segment_key_column, qualifier=none) -%}
    case {{ segment_key_column }}
    {%- for segment in segment_definitions() if segment.status == 'active' %}
        {%- set condition = segment.match_condition if segment.is_default else segment.membership_condition %}
        when {{ segment_sql_string(segment.key) }} then {{ json_object_text(segment_referenced_columns(condition), qualifier) }}
    {%- endfor %}
    end
{%- endmacro %}
