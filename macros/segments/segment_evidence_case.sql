{#- One CASE over a segment key column that gives, per active segment (of evaluation level
    `level`, every level when none), what its membership condition read as a JSON object
    (json_object_text): the profile columns of the segment's rule, its ancestors' rules, the
    default's completeness guard and, when every channel needs consent, the consent flags;
    then, for behavioural conditions, each measure by its condition path (an ancestor's
    prefixed with its key), and member_of flags. For the default segment, the columns of its
    too-incomplete condition. Null for other keys. `qualifier` names the relation holding the
    dim_customers columns, `condition_qualifier` the one holding int_segment_condition_values'
    columns and member_of__<key> flags. -#}
{% macro segment_evidence_case(segment_key_column, qualifier=none, condition_qualifier=none, level=none) -%}
    {%- set plan = segment_condition_plan() -%}
    case {{ segment_key_column }}
    {%- for segment in segment_definitions() if segment.status == 'active' and (level is none or segment.level == level) %}
        {%- set condition = segment.match_condition if segment.is_default else segment.membership_condition %}
        {%- set pairs = [] %}
        {%- for column in segment_referenced_columns(condition) if not (column.startswith('cv_') or column.startswith('member_of__')) %}
            {%- do pairs.append(("'" ~ column ~ "'", (qualifier ~ '.' if qualifier else '') ~ column)) %}
        {%- endfor %}
        {%- for written in segment.get('written_conditions') or [] %}
            {%- for path, column in plan.segments[written.segment].evidence %}
                {%- set label = path if written.segment == segment.key else written.segment ~ '.' ~ path %}
                {%- do pairs.append(("'" ~ label ~ "'", (condition_qualifier ~ '.' if condition_qualifier else '') ~ column)) %}
            {%- endfor %}
        {%- endfor %}
        when {{ segment_sql_string(segment.key) }} then {{ adapter.dispatch('json_object_text', 'dynamic_segments')(pairs) if pairs else "cast('{}' as " ~ dbt.type_string() ~ ")" }}
    {%- endfor %}
    end
{%- endmacro %}
