-- One row per customer per channel (email, sms, ads, or all) the manual suppression list
-- names them for at or before as_of. An entry reaches a customer through the identity
-- resolution of its email, or through its phone: the entry's phone and the customer's
-- primary CRM phone compared in E.164 (phone_e164; a CRM phone without a country code
-- takes its contact's country's). When several entries name a customer for a channel,
-- the earliest is reported and all are counted.
with

stg_privacy__manual_suppressions as (
    select * from {{ ref('stg_privacy__manual_suppressions') }}
),

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

int_customer_contacts_as_of as (
    select * from {{ ref('int_customer_contacts_as_of') }}
),

country_calling_codes as (
    select * from {{ ref('country_calling_codes') }}
),

entries_as_of as (
    select
        suppression_id,
        email,
        {{ phone_e164('phone', 'cast(null as ' ~ dbt.type_string() ~ ')') }} as phone_e164,
        channel,
        reason,
        suppressed_at
    from stg_privacy__manual_suppressions
    where suppressed_at < {{ as_of_cutoff() }}
),

customer_phones as (
    select
        int_customer_contacts_as_of.customer_id,
        {{ phone_e164('int_customer_contacts_as_of.phone', 'country_calling_codes.calling_code') }} as phone_e164
    from int_customer_contacts_as_of
    left join country_calling_codes
        on int_customer_contacts_as_of.country_code = country_calling_codes.country_code
    where int_customer_contacts_as_of.phone is not null
),

matched_by_email as (
    select
        int_identifiers_resolved_to_customers.customer_id,
        entries_as_of.suppression_id,
        entries_as_of.channel,
        entries_as_of.reason,
        entries_as_of.suppressed_at
    from entries_as_of
    inner join int_identifiers_resolved_to_customers
        on int_identifiers_resolved_to_customers.identifier_type = 'email'
            and entries_as_of.email = int_identifiers_resolved_to_customers.identifier_value
),

matched_by_phone as (
    select
        customer_phones.customer_id,
        entries_as_of.suppression_id,
        entries_as_of.channel,
        entries_as_of.reason,
        entries_as_of.suppressed_at
    from entries_as_of
    inner join customer_phones
        on entries_as_of.phone_e164 = customer_phones.phone_e164
),

matches as (
    select * from matched_by_email
    union all
    select * from matched_by_phone
),

-- An entry naming a customer by both email and phone counts once.
matched_entries as (
    select distinct
        customer_id,
        suppression_id,
        channel,
        reason,
        suppressed_at
    from matches
),

ranked_entries as (
    select
        customer_id,
        channel,
        suppression_id,
        reason,
        suppressed_at,
        row_number() over (
            partition by customer_id, channel
            order by suppressed_at, suppression_id
        ) as entry_rank,
        count(*) over (partition by customer_id, channel) as suppression_count
    from matched_entries
),

final as (
    select
        customer_id,
        channel,
        suppression_id as first_suppression_id,
        reason as first_reason,
        suppressed_at as first_suppressed_at,
        suppression_count
    from ranked_entries
    where entry_rank = 1
)

select * from final
