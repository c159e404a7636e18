-- One row per active segment per numeric threshold of its definition per percentage change
-- of the var segment_threshold_changes_pct (0 always included): how many customers would
-- be members at as_of with only that threshold moved. A threshold is a number of the rule
-- compared with a column (either side of a comparison, each end of a between) or a written
-- count of a behavioural condition (performed, stopped_performing; not inside per_key).
-- scripts/segment_thresholds.py finds and moves them at compile time (macro
-- segment_threshold_variants); each variant is the segment's whole membership condition
-- (its rule and conditions, its ancestors', completeness and consent) with that one number
-- changed, so at change 0 the count is the segment's member count. Segments whose
-- conditions read other segments (member_of) are left out.
{%- set whitespace = '\s+' %}
{%- set registry_entries = {} %}
{%- for entry in segment_registry() %}
    {%- do registry_entries.update({entry.key: entry}) %}
{%- endfor %}
{%- set registry_plan = segment_condition_plan() %}
{%- set variants = [] %}
{%- for segment in segment_definitions()
    if segment.status == 'active' and not segment.is_default and not segment.member_of %}
    {%- set entry = registry_entries[segment.key] %}
    {%- set found = segment_threshold_variants(segment.rule, entry.get('conditions')) %}
    {%- set number = namespace(value=0) %}
    {%- set written_rule = modules.re.sub(whitespace, ' ', 'coalesce((' ~ segment.rule ~ '), false)') %}
    {%- if found.rule and written_rule not in segment.membership_condition %}
        {{ exceptions.raise_compiler_error("rpt_segment_threshold_sensitivity: the rule of segment '"
            ~ segment.key ~ "' is not found in its membership condition.") }}
    {%- endif %}
    {%- for threshold in found.rule %}
        {%- set number.value = number.value + 1 %}
        {%- for variant in threshold.variants %}
            {%- set varied_rule = modules.re.sub(whitespace, ' ', 'coalesce((' ~ variant.rule_sql ~ '), false)') %}
            {%- do variants.append({
                'segment_key': segment.key, 'number': number.value, 'source': 'rule',
                'threshold_sql': threshold.comparison_sql, 'compared_with': threshold.compared_sql,
                'threshold': threshold, 'variant': variant, 'definition': variant.rule_sql,
                'condition': segment.membership_condition | replace(written_rule, varied_rule, 1),
                'column': 'variant_' ~ (variants | length),
            }) %}
        {%- endfor %}
    {%- endfor %}
    {%- for threshold in found.conditions %}
        {%- set number.value = number.value + 1 %}
        {%- set written_conditions = modules.re.sub(
            whitespace, ' ', 'coalesce(' ~ registry_plan.segments[segment.key].sql ~ ', false)') %}
        {%- for variant in threshold.variants %}
            {%- set varied_entry = {} %}
            {%- do varied_entry.update(entry) %}
            {%- do varied_entry.update({'conditions': variant.conditions}) %}
            {%- set varied_sql = segment_condition_plan([varied_entry]).segments[segment.key].sql %}
            {%- if variant.change_pct == 0 and varied_sql != registry_plan.segments[segment.key].sql %}
                {{ exceptions.raise_compiler_error("rpt_segment_threshold_sensitivity: the conditions of segment '"
                    ~ segment.key ~ "' compile differently when planned alone, so its variants cannot be counted.") }}
            {%- endif %}
            {%- set varied_conditions = modules.re.sub(whitespace, ' ', 'coalesce(' ~ varied_sql ~ ', false)') %}
            {%- do variants.append({
                'segment_key': segment.key, 'number': number.value, 'source': 'conditions',
                'threshold_sql': threshold.path ~ '.count.' ~ threshold.operator ~ ': ' ~ threshold.threshold_value,
                'compared_with': threshold.path,
                'threshold': {'threshold_value': threshold.threshold_value, 'is_integer': true},
                'variant': variant, 'definition': tojson(variant.conditions, sort_keys=true),
                'condition': segment.membership_condition | replace(written_conditions, varied_conditions, 1),
                'column': 'variant_' ~ (variants | length),
            }) %}
        {%- endfor %}
    {%- endfor %}
{%- endfor %}
{%- set condition_columns = [] %}
{%- for column in segment_condition_columns() %}
    {%- do condition_columns.append('int_segment_condition_values.' ~ column ~ ',') %}
{%- endfor %}

with

int_customer_profiles as (
    select * from {{ ref('int_customer_profiles') }}
),

int_segment_condition_values as (
    select * from {{ ref('int_segment_condition_values') }}
),

int_segment_memberships as (
    select * from {{ ref('int_segment_memberships') }}
),

-- every profile column beside the customer's behavioural condition values
customers_with_condition_values as (
    select
        {{ condition_columns | join(' ') }}
        int_customer_profiles.*
    from int_customer_profiles
    left join int_segment_condition_values
        on int_customer_profiles.customer_id = int_segment_condition_values.customer_id
),

-- every variant's member count in one pass over the customers
variant_counts as (
    select
        {%- for item in variants %}
            sum(case when {{ item.condition }} then 1 else 0 end) as {{ item.column }},
        {%- endfor %}
        count(*) as customer_count
    from customers_with_condition_values
),

-- one row per variant, its count read from the column of variant_counts
variant_rows as (
    {%- for item in variants %}
        select
            {{ segment_sql_string(item.segment_key) }} as segment_key,
            cast({{ item.number }} as {{ dbt.type_int() }}) as threshold_number,
            {{ segment_sql_string(item.source) }} as threshold_source,
            {{ segment_sql_string(item.threshold_sql) }} as threshold_sql,
            {{ segment_sql_string(item.compared_with) }} as compared_with,
            cast({{ item.threshold.threshold_value }} as {{ dbt.type_numeric() }}) as threshold_value,
            {{ 'true' if item.threshold.is_integer else 'false' }} as is_integer_threshold,
            cast({{ item.variant.change_pct }} as {{ dbt.type_numeric() }}) as change_pct,
            cast({{ item.variant.varied_value }} as {{ dbt.type_numeric() }}) as varied_threshold,
            {{ segment_sql_string(item.definition) }} as varied_definition,
            cast(coalesce({{ item.column }}, 0) as {{ dbt.type_bigint() }}) as matching_customer_count
        from variant_counts
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
    {%- if variants | length == 0 %}
        select
            cast(null as {{ dbt.type_string() }}) as segment_key,
            cast(null as {{ dbt.type_int() }}) as threshold_number,
            cast(null as {{ dbt.type_string() }}) as threshold_source,
            cast(null as {{ dbt.type_string() }}) as threshold_sql,
            cast(null as {{ dbt.type_string() }}) as compared_with,
            cast(null as {{ dbt.type_numeric() }}) as threshold_value,
            cast(null as {{ dbt.type_boolean() }}) as is_integer_threshold,
            cast(null as {{ dbt.type_numeric() }}) as change_pct,
            cast(null as {{ dbt.type_numeric() }}) as varied_threshold,
            cast(null as {{ dbt.type_string() }}) as varied_definition,
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
        variant_rows.threshold_source,
        variant_rows.threshold_sql,
        variant_rows.compared_with,
        variant_rows.threshold_value,
        variant_rows.is_integer_threshold,
        variant_rows.change_pct,
        variant_rows.varied_threshold,
        variant_rows.varied_definition,
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
