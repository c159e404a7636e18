-- One row per customer of int_customers_as_of per consent purpose (seeds/consent_purposes):
-- the consent of record at the end of the as_of day. The latest consent change of the
-- customer's channel and purpose decides (int_consent_changes: a global unsubscribe
-- overrides earlier grants, a later grant restores its channel); a purpose never captured
-- is not_captured, which counts as not consented. decided_by names the deciding signal.
with

int_customers_as_of as (
    select * from {{ ref('int_customers_as_of') }}
),

consent_purposes as (
    select * from {{ ref('consent_purposes') }}
),

int_consent_changes as (
    select * from {{ ref('int_consent_changes') }}
),

latest_changes as (
    select * from int_consent_changes
    where is_latest
),

customer_purposes as (
    select
        int_customers_as_of.customer_id,
        consent_purposes.channel,
        consent_purposes.purpose
    from int_customers_as_of
    cross join consent_purposes
),

final as (
    select
        customer_purposes.customer_id,
        customer_purposes.channel,
        customer_purposes.purpose,
        coalesce(latest_changes.consent_status, 'not_captured') as consent_status,
        coalesce(latest_changes.is_granted, false) as is_granted,
        latest_changes.captured_at as decided_at,
        latest_changes.consent_source as decided_by_source,
        latest_changes.source_event_id as decided_by_event_id,
        latest_changes.signal_type as decided_by_signal_type,
        {{ as_of_date() }} as as_of_date
    from customer_purposes
    left join latest_changes
        on customer_purposes.customer_id = latest_changes.customer_id
            and customer_purposes.channel = latest_changes.channel
            and customer_purposes.purpose = latest_changes.purpose
)

select * from final
