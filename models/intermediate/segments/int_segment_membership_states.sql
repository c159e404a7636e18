-- One row per customer per segment per membership state the customer holds at as_of:
-- `member` (a row of int_segment_memberships), `primary` (the member segment that wins on
-- priority) and `consent_blocked` (the rule matched and the
-- profile is complete enough, but the customer consents to none of the segment's
-- channels). Each state carries the segment's rule hash and the profile values its
-- condition read; the membership history records when each state starts and ends.
with

int_segment_memberships as (
    select * from {{ ref('int_segment_memberships') }}
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
    from int_segment_memberships
),

primary_states as (
    select
        customer_id,
        segment_key,
        'primary' as membership_state,
        rule_hash,
        rule_evidence
    from int_segment_memberships
    where is_primary_segment
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
