-- One row per customer of dim_customers: the primary segment chosen by priority (lowest
-- number wins), every segment they belong to, and whether the default was applied and why.
with

fct_segment_memberships as (
    select * from {{ ref('fct_segment_memberships') }}
),

int_segment_rules_evaluated as (
    select * from {{ ref('int_segment_rules_evaluated') }}
),

dim_customers as (
    select * from {{ ref('dim_customers') }}
),

active_segments as (
    select * from (
        {{ segment_catalog_rows(statuses=['active']) }}
    ) as registry_rows
),

memberships_ranked as (
    select
        customer_id,
        segment_key,
        segment_name,
        segment_priority,
        is_default_segment,
        row_number() over (partition by customer_id order by segment_priority) as priority_rank
    from fct_segment_memberships
),

primary_segments as (
    select
        memberships_ranked.customer_id,
        memberships_ranked.segment_key as primary_segment_key,
        memberships_ranked.segment_name as primary_segment_name,
        memberships_ranked.segment_priority as primary_segment_priority,
        memberships_ranked.is_default_segment as is_default_applied,
        active_segments.channels as primary_segment_channels
    from memberships_ranked
    inner join active_segments
        on memberships_ranked.segment_key = active_segments.segment_key
    where memberships_ranked.priority_rank = 1
),

segment_labels as (
    select
        customer_id,
        {{ dbt.listagg('segment_key', "'|'", 'order by segment_priority') }} as segment_keys,
        cast(sum(case when is_default_segment then 0 else 1 end) as {{ dbt.type_bigint() }}) as matched_segment_count
    from fct_segment_memberships
    group by customer_id
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
        dim_customers.customer_id,
        primary_segments.primary_segment_key,
        primary_segments.primary_segment_name,
        primary_segments.primary_segment_priority,
        segment_labels.segment_keys,
        cast(segment_labels.matched_segment_count as {{ dbt.type_int() }}) as matched_segment_count,
        primary_segments.is_default_applied,
        case
            when not primary_segments.is_default_applied then null
            when {{ segment_default('condition') }} then 'profile_too_incomplete'
            when coalesce(rule_match_summary.rule_match_count, 0) > 0 then 'no_consent_for_matched_segments'
            else 'matched_nothing'
        end as default_reason,
        primary_segments.primary_segment_channels,
        dim_customers.has_email_consent,
        coalesce(
            dim_customers.has_email_consent
            and {{ dbt.position(
                "',email,'",
                dbt.concat(["','", 'primary_segments.primary_segment_channels', "','"])
            ) }} > 0,
            false
        ) as is_email_allowed,
        {{ as_of_date() }} as as_of_date
    from dim_customers
    left join primary_segments
        on dim_customers.customer_id = primary_segments.customer_id
    left join segment_labels
        on dim_customers.customer_id = segment_labels.customer_id
    left join rule_match_summary
        on dim_customers.customer_id = rule_match_summary.customer_id
)

select * from final
