-- One row per customer of int_customers_as_of (the customers of the consent of record):
-- whether they consent to each channel at the end of the as_of day, read from the consent
-- of record (int_customer_consent_purposes_as_of): a channel is consented when every one
-- of its purposes is granted (ads: both ad_user_data and ad_personalization). And whether
-- their CRM email address (the address consent is captured for) is undeliverable: it
-- hard-bounced at or before as_of. A hard bounce is not a withdrawal: has_email_consent
-- stays as the customer decided, and the segment consent check for email reads both.
-- This is the one place consent is decided: profiles, segment rules and audiences read
-- it from here.
with

int_customer_contacts_as_of as (
    select * from {{ ref('int_customer_contacts_as_of') }}
),

int_customer_consent_purposes_as_of as (
    select * from {{ ref('int_customer_consent_purposes_as_of') }}
),

stg_email__events as (
    select * from {{ ref('stg_email__events') }}
),

channel_consents as (
    select
        customer_id,
        min(case when channel = 'email' then case when is_granted then 1 else 0 end end) = 1 as has_email_consent,
        min(case when channel = 'sms' then case when is_granted then 1 else 0 end end) = 1 as has_sms_consent,
        min(case when channel = 'ads' then case when is_granted then 1 else 0 end end) = 1 as has_ads_consent,
        min(case when channel = 'onsite' then case when is_granted then 1 else 0 end end) = 1 as has_onsite_consent
    from int_customer_consent_purposes_as_of
    group by customer_id
),

hard_bounced_addresses as (
    select distinct email
    from stg_email__events
    where event_type = 'bounce'
        and bounce_type = 'hard'
        and occurred_at < {{ as_of_cutoff() }}
),

final as (
    select
        channel_consents.customer_id,
        channel_consents.has_email_consent,
        channel_consents.has_sms_consent,
        channel_consents.has_ads_consent,
        channel_consents.has_onsite_consent,
        hard_bounced_addresses.email is not null as is_email_undeliverable
    from channel_consents
    left join int_customer_contacts_as_of
        on channel_consents.customer_id = int_customer_contacts_as_of.customer_id
    left join hard_bounced_addresses
        on int_customer_contacts_as_of.email = hard_bounced_addresses.email
)

select * from final
