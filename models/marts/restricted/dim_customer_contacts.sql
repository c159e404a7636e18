-- One row per customer of int_customers_as_of (known at as_of, neither erased nor a test
-- account): how to reach them, in clear and hashed. The only mart holding direct
-- identifiers; it is published to the restricted file that activation reads, never to the
-- serving file analysts read (docs/serving.md). Hashes come from `hashed_identifier`,
-- the one definition of the form ad platforms match on.
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
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(email as {{ dbt.type_string() }}) as email,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        cast({{ phone_e164('phone', 'calling_code') }} as {{ dbt.type_string() }}) as phone_e164,
        cast(country_code as {{ dbt.type_string() }}) as country_code,
        cast(birth_date as date) as birth_date,
        cast({{ hashed_identifier('email', 'email') }} as {{ dbt.type_string() }}) as email_sha256,
        cast({{ hashed_identifier('phone', 'phone', 'calling_code') }} as {{ dbt.type_string() }}) as phone_sha256
    from contacts
)

select * from final
