-- One row per customer per active segment they belong to at as_of (multi-label), with the
-- profile values the segment's condition read (rule_evidence): the public face of
-- int_segment_memberships.
with

int_segment_memberships as (
    select * from {{ ref('int_segment_memberships') }}
),

final as (
    select
        segment_membership_id,
        customer_id,
        segment_key,
        segment_name,
        segment_priority,
        parent_segment_key,
        is_default_segment,
        rule_hash,
        rule_evidence,
        as_of_date
    from int_segment_memberships
)

select * from final
