-- One row per customer of dim_customers: the primary segment chosen by priority (lowest
-- number wins, decided in int_segment_memberships), every segment they belong to, whether
-- the default was applied and why, and whether the primary segment may be emailed.
with

int_segment_memberships as (
    select * from {{ ref('int_segment_memberships') }}
),

int_segment_rules_evaluated as (
    select * from {{ ref('int_segment_rules_evaluated') }}
),

int_customer_profiles as (
    select * from {{ ref('int_customer_profiles') }}
),

-- One pass over the memberships: every segment in priority order. The primary segment's
-- attributes come from its membership row, which carries them from the registry.
segment_labels as (
    select
        customer_id,
        {{ dbt.listagg('segment_key', "'|'", 'order by segment_priority') }} as segment_keys,
        cast(sum(case when is_default_segment then 0 else 1 end) as {{ dbt.type_bigint() }}) as matched_segment_count
    from int_segment_memberships
    group by customer_id
),

customer_segments as (
    select
        segment_labels.customer_id,
        primary_memberships.segment_key as primary_segment_key,
        primary_memberships.segment_name as primary_segment_name,
        primary_memberships.segment_priority as primary_segment_priority,
        primary_memberships.is_default_segment as is_default_applied,
        primary_memberships.segment_channels as primary_segment_channels,
        segment_labels.segment_keys,
        segment_labels.matched_segment_count
    from segment_labels
    left join int_segment_memberships as primary_memberships
        on segment_labels.customer_id = primary_memberships.customer_id
            and primary_memberships.is_primary_segment
),

rule_match_summary as (
    select
        customer_id,
        count(*) as rule_match_count
    from int_segment_rules_evaluated
    group by customer_id
),

final as (
    select
        int_customer_profiles.customer_id,
        customer_segments.primary_segment_key,
        customer_segments.primary_segment_name,
        customer_segments.primary_segment_priority,
        customer_segments.segment_keys,
        cast(customer_segments.matched_segment_count as {{ dbt.type_int() }}) as matched_segment_count,
        customer_segments.is_default_applied,
        case
            when not customer_segments.is_default_applied then null
            when {{ segment_default('condition') }} then 'profile_too_incomplete'
            when coalesce(rule_match_summary.rule_match_count, 0) > 0 then 'no_consent_for_matched_segments'
            else 'matched_nothing'
        end as default_reason,
        customer_segments.primary_segment_channels,
        int_customer_profiles.has_email_consent,
        coalesce(
            int_customer_profiles.has_email_consent
            and not int_customer_profiles.is_email_undeliverable
            and {{ dbt.position(
                "',email,'",
                dbt.concat(["','", 'customer_segments.primary_segment_channels', "','"])
            ) }} > 0,
            false
        ) as is_email_allowed,
        {{ as_of_date() }} as as_of_date
    from int_customer_profiles
    left join customer_segments
        on int_customer_profiles.customer_id = customer_segments.customer_id
    left join rule_match_summary
        on int_customer_profiles.customer_id = rule_match_summary.customer_id
)

select * from final
