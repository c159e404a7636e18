-- One row per customer per active segment whose rule, behavioural conditions and ancestors'
-- rules and conditions match the customer at as_of, with the consent and completeness
-- checks that decide whether the match becomes a membership. Computed in one pass per
-- evaluation level: every customer against every active segment of the level, filtered by
-- one CASE generated from the segment registry. Level 0 holds the segments that read no
-- other segment's membership; a segment whose conditions use member_of is evaluated one
-- level after the segments it reads, from their results in this model (not by inlining
-- their rules). Each match carries what its condition read (rule_evidence, a JSON object).
{%- do validate_segment_registry() %}
{%- set levels = [] %}
{%- set member_targets = [] %}
{%- for segment in segment_definitions() if segment.status == 'active' and not segment.is_default %}
    {%- if segment.level not in levels %}{% do levels.append(segment.level) %}{% endif %}
    {%- for target in segment.member_of if target not in member_targets %}
        {%- do member_targets.append(target) %}
    {%- endfor %}
{%- endfor %}
{%- set levels = levels | sort %}
{%- if levels | length == 0 %}{% set levels = [0] %}{% endif %}

with

int_customer_profiles as (
    select * from {{ ref('int_customer_profiles') }}
),

int_segment_condition_values as (
    select * from {{ ref('int_segment_condition_values') }}
),

active_segments as (
    select
        segment_key,
        priority as segment_priority,
        rule_hash,
        evaluation_level
    from (
        {{ segment_catalog_rows(statuses=['active'], include_default=false) }}
    ) as registry_rows
),

{%- set condition_columns = [] %}
{%- for column in segment_condition_columns() %}
    {%- do condition_columns.append('int_segment_condition_values.' ~ column ~ ',') %}
{%- endfor %}
{%- set level_flags = [] %}
{%- for target in member_targets %}
    {%- do level_flags.append(segment_member_flag_column(target) ~ ',') %}
{%- endfor %}

-- every profile column beside the customer's behavioural condition values
customers_with_condition_values as (
    select
        int_customer_profiles.*,
        {{ condition_columns | join(' ') }}
        int_segment_condition_values.as_of_date as condition_values_as_of_date
    from int_customer_profiles
    left join int_segment_condition_values
        on int_customer_profiles.customer_id = int_segment_condition_values.customer_id
),

{% for level in levels %}
    {% if not loop.first %}
        -- membership (after consent and completeness) in the segments the next level reads
        {%- set earlier_levels = [] %}
        {%- for earlier in levels if earlier < level %}
            {%- do earlier_levels.append('select * from rules_matched_' ~ earlier) %}
        {%- endfor %}
        member_flags_{{ level }} as (
            {{ segment_member_flags_select('(' ~ earlier_levels | join(' union all ') ~ ') as earlier_levels', member_targets) }}
        ),
    {% endif %}

    customer_segment_pairs_{{ level }} as (
        select
            {{ (level_flags | join(' ')) if not loop.first }}
            active_segments.segment_key,
            active_segments.segment_priority,
            active_segments.rule_hash,
            customers_with_condition_values.*
        from customers_with_condition_values
        cross join active_segments
        {%- if not loop.first %}
        left join member_flags_{{ level }}
            on customers_with_condition_values.customer_id = member_flags_{{ level }}.customer_id
        {%- endif %}
        where active_segments.evaluation_level = {{ level }}
    ),

    rules_matched_{{ level }} as (
        select
            customer_id,
            segment_key,
            segment_priority,
            rule_hash,
            {{ segment_condition_case('segment_key', 'consent_condition', level) }} as is_consent_given,
            {{ segment_default('condition') }} as is_profile_too_incomplete,
            {{ segment_condition_case('segment_key', 'consent_condition', level) }}
            and not {{ segment_default('condition') }} as is_member,
            {{ segment_evidence_case('segment_key', level=level) }} as rule_evidence
        from customer_segment_pairs_{{ level }}
        where {{ segment_condition_case('segment_key', 'match_condition', level) }}
    ),
{% endfor %}

{%- set level_selects = [] %}
{%- for level in levels %}
    {%- do level_selects.append('select * from rules_matched_' ~ level) %}
{%- endfor %}

final as (
    select
        customer_id,
        segment_key,
        segment_priority,
        is_consent_given,
        is_profile_too_incomplete,
        is_member,
        rule_hash,
        rule_evidence
    from ({{ level_selects | join(' union all ') }}) as all_levels
)

select * from final
