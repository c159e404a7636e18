-- One row per customer per segment per membership state the customer holds at as_of:
-- `member` (a row of fct_segment_memberships), `primary` (the member segment that wins on
-- priority, from dim_customer_segments) and `consent_blocked` (the rule matched and the
-- profile is complete enough, but the customer consents to none of the segment's
-- channels). Each state carries the segment's rule hash and the profile values its
-- condition read; the membership history records when each state starts and ends.
with

fct_segment_memberships as (
    select * from {{ ref('fct_segment_memberships') }}
),

dim_customer_segments as (
    select * from {{ ref('dim_customer_segments') }}
),

int_segment_rules_evaluated as (
    select * from {{ ref('int_segment_rules_evaluated') }}
),

member_states as (
    select
        customer_id,
        segment_key,
        'member' as membership_state,
        rule_hash,
        rule_evidence
    from fct_segment_memberships
),

primary_states as (
    select
        fct_segment_memberships.customer_id,
        fct_segment_memberships.segment_key,
        'primary' as membership_state,
        fct_segment_memberships.rule_hash,
        fct_segment_memberships.rule_evidence
    from fct_segment_memberships
    inner join dim_customer_segments
        on fct_segment_memberships.customer_id = dim_customer_segments.customer_id
            and fct_segment_memberships.segment_key = dim_customer_segments.primary_segment_key
),

consent_blocked_states as (
    select
        customer_id,
        segment_key,
        'consent_blocked' as membership_state,
        rule_hash,
        rule_evidence
    from int_segment_rules_evaluated
    where not is_consent_given
        and not is_profile_too_incomplete
),

final as (
    select * from member_states
    union all
    select * from primary_states
    union all
    select * from consent_blocked_states
)

select * from final
