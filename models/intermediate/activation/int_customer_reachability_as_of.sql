-- One row per customer of int_customers_as_of: whether activation could reach them, by
-- kind of contact address, without carrying the address itself. The email is the
-- primary CRM contact's, else the first one the customer was seen with; the phone counts
-- only when it has an E.164 form (phone_e164, as activation.dim_customer_contacts writes
-- it). Audience eligibility reads contact presence here, never from the restricted mart.
with

int_customers_as_of as (
    select * from {{ ref('int_customers_as_of') }}
),

int_customer_contacts_as_of as (
    select * from {{ ref('int_customer_contacts_as_of') }}
),

country_calling_codes as (
    select * from {{ ref('country_calling_codes') }}
),

contacts as (
    select
        int_customers_as_of.customer_id,
        coalesce(int_customer_contacts_as_of.email, int_customers_as_of.first_email) as email,
        int_customer_contacts_as_of.phone,
        country_calling_codes.calling_code
    from int_customers_as_of
    left join int_customer_contacts_as_of
        on int_customers_as_of.customer_id = int_customer_contacts_as_of.customer_id
    left join country_calling_codes
        on int_customer_contacts_as_of.country_code = country_calling_codes.country_code
),

final as (
    select
        customer_id,
        email is not null as has_email_address,
        {{ phone_e164('phone', 'calling_code') }} is not null as has_phone_number
    from contacts
)

select * from final
