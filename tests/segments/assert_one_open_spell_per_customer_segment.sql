-- The membership history has at most one open spell per customer and segment, and the open
-- spells are exactly the current memberships. Returns the pairs that disagree.
with

int_segment_memberships_historized as (
    select * from {{ ref('int_segment_memberships_historized') }}
),

fct_segment_memberships as (
    select * from {{ ref('fct_segment_memberships') }}
),

open_spells as (
    select
        customer_id,
        segment_key,
        count(*) as open_spell_count
    from int_segment_memberships_historized
    where valid_to_date is null
    group by customer_id, segment_key
),

failures as (
    select
        coalesce(open_spells.customer_id, fct_segment_memberships.customer_id) as customer_id,
        coalesce(open_spells.segment_key, fct_segment_memberships.segment_key) as segment_key,
        open_spells.open_spell_count
    from open_spells
    full outer join fct_segment_memberships
        on open_spells.customer_id = fct_segment_memberships.customer_id
            and open_spells.segment_key = fct_segment_memberships.segment_key
    where open_spells.customer_id is null
        or fct_segment_memberships.customer_id is null
        or open_spells.open_spell_count > 1
)

select * from failures
