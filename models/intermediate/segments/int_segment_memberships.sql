-- One row per customer per active segment they belong to at as_of (multi-label): every
-- rule match that passes the consent and completeness checks, plus the default segment
-- for customers left without any membership. Each row carries the profile values its
-- condition read (rule_evidence) and whether it is the customer's primary segment: the
-- one with the lowest priority number (priorities are unique in the registry).
with

int_segment_rules_evaluated as (
    select * from {{ ref('int_segment_rules_evaluated') }}
),

int_customer_profiles as (
    select * from {{ ref('int_customer_profiles') }}
),

active_segments as (
    select * from (
        {{ segment_catalog_rows(statuses=['active']) }}
    ) as registry_rows
),

rule_memberships as (
    select
        customer_id,
        segment_key,
        rule_evidence
    from int_segment_rules_evaluated
    where is_member
),

customers_with_membership as (
    select distinct customer_id from rule_memberships
),

default_memberships as (
    select
        int_customer_profiles.customer_id,
        {{ segment_default('key') }} as segment_key,
        {{ json_object_text(
            segment_referenced_columns(segment_default('condition')), 'int_customer_profiles'
        ) }} as rule_evidence
    from int_customer_profiles
    left join customers_with_membership
        on int_customer_profiles.customer_id = customers_with_membership.customer_id
    where customers_with_membership.customer_id is null
),

all_memberships as (
    select * from rule_memberships
    union all
    select * from default_memberships
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            'all_memberships.customer_id', "'|'",
            'all_memberships.segment_key',
        ])) }} as segment_membership_id,
        all_memberships.customer_id,
        all_memberships.segment_key,
        active_segments.segment_name,
        active_segments.priority as segment_priority,
        active_segments.parent_segment_key,
        active_segments.is_default as is_default_segment,
        active_segments.rule_hash,
        active_segments.channels as segment_channels,
        all_memberships.rule_evidence,
        row_number() over (
            partition by all_memberships.customer_id
            order by active_segments.priority, all_memberships.segment_key
        ) = 1 as is_primary_segment,
        {{ as_of_date() }} as as_of_date
    from all_memberships
    inner join active_segments
        on all_memberships.segment_key = active_segments.segment_key
)

select * from final
