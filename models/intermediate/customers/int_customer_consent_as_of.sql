-- One row per customer with at least one consent event at or before the end of the as_of
-- day: whether they consent to email, sms and ads then. For each channel the latest event
-- across the customer's CRM contacts decides (the later event id breaks a tie); a channel
-- never captured is not consented. This is the one place consent is decided: profiles,
-- segment rules and audiences read it from here.
with

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

stg_crm__consent_events as (
    select * from {{ ref('stg_crm__consent_events') }}
),

consent_events_ranked as (
    select
        int_identifiers_resolved_to_customers.customer_id,
        stg_crm__consent_events.channel,
        stg_crm__consent_events.is_granted,
        row_number() over (
            partition by int_identifiers_resolved_to_customers.customer_id, stg_crm__consent_events.channel
            order by stg_crm__consent_events.occurred_at desc, stg_crm__consent_events.consent_event_id desc
        ) as consent_recency
    from stg_crm__consent_events
    inner join int_identifiers_resolved_to_customers
        on int_identifiers_resolved_to_customers.identifier_type = 'contact_id'
            and stg_crm__consent_events.contact_id = int_identifiers_resolved_to_customers.identifier_value
    where stg_crm__consent_events.occurred_at < {{ as_of_cutoff() }}
        and (
            int_identifiers_resolved_to_customers.first_seen_at is null
            or int_identifiers_resolved_to_customers.first_seen_at < {{ as_of_cutoff() }}
        )
),

final as (
    select
        customer_id,
        max(case when channel = 'email' and is_granted then 1 else 0 end) = 1 as has_email_consent,
        max(case when channel = 'sms' and is_granted then 1 else 0 end) = 1 as has_sms_consent,
        max(case when channel = 'ads' and is_granted then 1 else 0 end) = 1 as has_ads_consent
    from consent_events_ranked
    where consent_recency = 1
    group by customer_id
)

select * from final
