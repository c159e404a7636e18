-- The membership history has at most one open spell per customer, segment and membership
-- state, and the open spells are exactly the current states (memberships, primary
-- segments, consent-blocked matches). Returns the rows that disagree.
with

int_segment_memberships_historized as (
    select * from {{ ref('int_segment_memberships_historized') }}
),

int_segment_membership_states as (
    select * from {{ ref('int_segment_membership_states') }}
),

open_spells as (
    select
        customer_id,
        segment_key,
        membership_state,
        count(*) as open_spell_count
    from int_segment_memberships_historized
    where valid_to_date is null
    group by customer_id, segment_key, membership_state
),

failures as (
    select
        coalesce(open_spells.customer_id, int_segment_membership_states.customer_id) as customer_id,
        coalesce(open_spells.segment_key, int_segment_membership_states.segment_key) as segment_key,
        coalesce(open_spells.membership_state, int_segment_membership_states.membership_state) as membership_state,
        open_spells.open_spell_count
    from open_spells
    full outer join int_segment_membership_states
        on open_spells.customer_id = int_segment_membership_states.customer_id
            and open_spells.segment_key = int_segment_membership_states.segment_key
            and open_spells.membership_state = int_segment_membership_states.membership_state
    where open_spells.customer_id is null
        or int_segment_membership_states.customer_id is null
        or open_spells.open_spell_count > 1
)

select * from failures
