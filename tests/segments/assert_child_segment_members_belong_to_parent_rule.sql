-- A child segment's members also satisfy the parent's rule: every rule match of a segment
-- with a parent has a rule match of the parent for the same customer. Returns the
-- customer/segment pairs that break the hierarchy.
with

int_segment_rules_evaluated as (
    select * from {{ ref('int_segment_rules_evaluated') }}
),

dim_segments as (
    select * from {{ ref('dim_segments') }}
),

child_matches as (
    select
        int_segment_rules_evaluated.customer_id,
        int_segment_rules_evaluated.segment_key,
        dim_segments.parent_segment_key
    from int_segment_rules_evaluated
    inner join dim_segments
        on int_segment_rules_evaluated.segment_key = dim_segments.segment_key
    where dim_segments.parent_segment_key is not null
),

failures as (
    select child_matches.*
    from child_matches
    left join int_segment_rules_evaluated as parent_matches
        on child_matches.customer_id = parent_matches.customer_id
            and child_matches.parent_segment_key = parent_matches.segment_key
    where parent_matches.customer_id is null
)

select * from failures
