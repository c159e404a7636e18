-- One row per customer of int_customers_as_of: how to reach them, in clear. The email is
-- the primary CRM contact's, else the first one the customer was seen with; name, phone,
-- country and birth date are the primary CRM contact's; the phone also in E.164
-- (phone_e164, with the calling code of the contact's country). The one place contact
-- points are chosen: activation.dim_customer_contacts publishes them with their hashes,
-- and audience eligibility reads their presence here.
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
        int_customer_contacts_as_of.first_name,
        int_customer_contacts_as_of.last_name,
        int_customer_contacts_as_of.phone,
        int_customer_contacts_as_of.country_code,
        int_customer_contacts_as_of.birth_date,
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
        email,
        first_name,
        last_name,
        phone,
        {{ phone_e164('phone', 'calling_code') }} as phone_e164,
        calling_code,
        country_code,
        birth_date
    from contacts
)

select * from final
