-- One row per active segment per numeric threshold of its rule per percentage change of the
-- var segment_threshold_changes_pct (0 always included): how many customers the segment's
-- profile rule would match at as_of with only that threshold moved. A threshold is a number
-- compared with a column (either side of a comparison, each end of a between); the varied
-- rules are written at compile time by scripts/segment_thresholds.py through the macro
-- segment_threshold_variants. The count is of profile-rule matches: the segment's varied
-- rule, its ancestors' rules, the completeness guard and (where every channel needs it) the
-- consent check, all over int_customer_profiles; behavioural conditions are not applied.
{%- set variants = [] %}
{%- for segment in segment_definitions()
    if segment.status == 'active' and not segment.is_default and segment.rule is not none %}
    {%- for threshold in segment_threshold_variants(segment.rule) %}
        {%- for variant in threshold.variants %}
            {%- do variants.append({
                'segment': segment,
                'threshold': threshold,
                'variant': variant,
                'column': 'variant_' ~ (variants | length),
            }) %}
        {%- endfor %}
    {%- endfor %}
{%- endfor %}

with

int_customer_profiles as (
    select * from {{ ref('int_customer_profiles') }}
),

int_segment_memberships as (
    select * from {{ ref('int_segment_memberships') }}
),

-- every variant's match count in one pass over the profiles
variant_counts as (
    select
        {%- for item in variants %}
            sum(
                case
                    when coalesce(({{ item.variant.rule_sql }}), false)
                        and {{ item.segment.ancestor_profile_condition }}
                        then 1
                    else 0
                end
            ) as {{ item.column }},
        {%- endfor %}
        count(*) as customer_count
    from int_customer_profiles
),

-- one row per variant, its count read from the column of variant_counts
variant_rows as (
    {%- for item in variants %}
        select
            {{ segment_sql_string(item.segment.key) }} as segment_key,
            cast({{ item.threshold.threshold_number }} as {{ dbt.type_int() }}) as threshold_number,
            {{ segment_sql_string(item.threshold.comparison_sql) }} as threshold_sql,
            {{ segment_sql_string(item.threshold.compared_sql) }} as compared_sql,
            cast({{ item.threshold.threshold_value }} as {{ dbt.type_numeric() }}) as threshold_value,
            {{ 'true' if item.threshold.is_integer else 'false' }} as is_integer_threshold,
            cast({{ item.variant.change_pct }} as {{ dbt.type_numeric() }}) as change_pct,
            cast({{ item.variant.varied_value }} as {{ dbt.type_numeric() }}) as varied_threshold,
            {{ segment_sql_string(item.variant.rule_sql) }} as varied_rule_sql,
            {{ 'false' if item.segment.written_conditions else 'true' }} as is_profile_rule_only,
            cast(coalesce({{ item.column }}, 0) as {{ dbt.type_bigint() }}) as matching_customer_count
        from variant_counts
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
    {%- if variants | length == 0 %}
        select
            cast(null as {{ dbt.type_string() }}) as segment_key,
            cast(null as {{ dbt.type_int() }}) as threshold_number,
            cast(null as {{ dbt.type_string() }}) as threshold_sql,
            cast(null as {{ dbt.type_string() }}) as compared_sql,
            cast(null as {{ dbt.type_numeric() }}) as threshold_value,
            cast(null as {{ dbt.type_boolean() }}) as is_integer_threshold,
            cast(null as {{ dbt.type_numeric() }}) as change_pct,
            cast(null as {{ dbt.type_numeric() }}) as varied_threshold,
            cast(null as {{ dbt.type_string() }}) as varied_rule_sql,
            cast(null as {{ dbt.type_boolean() }}) as is_profile_rule_only,
            cast(null as {{ dbt.type_bigint() }}) as matching_customer_count
        from variant_counts
        where 1 = 0
    {%- endif %}
),

current_members as (
    select
        segment_key,
        count(*) as current_member_count
    from int_segment_memberships
    group by segment_key
),

at_threshold as (
    select
        segment_key,
        threshold_number,
        matching_customer_count as count_at_threshold
    from variant_rows
    where change_pct = 0
),

final as (
    select
        variant_rows.segment_key,
        variant_rows.threshold_number,
        variant_rows.threshold_sql,
        variant_rows.compared_sql,
        variant_rows.threshold_value,
        variant_rows.is_integer_threshold,
        variant_rows.change_pct,
        variant_rows.varied_threshold,
        variant_rows.varied_rule_sql,
        variant_rows.is_profile_rule_only,
        variant_rows.matching_customer_count,
        cast(at_threshold.count_at_threshold as {{ dbt.type_bigint() }}) as count_at_threshold,
        cast(
            variant_rows.matching_customer_count - at_threshold.count_at_threshold as {{ dbt.type_bigint() }}
        ) as count_change,
        cast(
            case
                when at_threshold.count_at_threshold > 0
                    then 1.0 * (variant_rows.matching_customer_count - at_threshold.count_at_threshold)
                        / at_threshold.count_at_threshold
            end as {{ type_double() }}
        ) as count_change_ratio,
        cast(
            coalesce(current_members.current_member_count, 0) as {{ dbt.type_bigint() }}
        ) as current_member_count,
        {{ as_of_date() }} as as_of_date
    from variant_rows
    left join at_threshold
        on variant_rows.segment_key = at_threshold.segment_key
            and variant_rows.threshold_number = at_threshold.threshold_number
    left join current_members
        on variant_rows.segment_key = current_members.segment_key
)

select * from final
