-- One row per customer of int_customers_as_of (known at as_of, neither erased nor a test
-- account): how to reach them, in clear and hashed. The only mart holding direct
-- identifiers; it is published to the restricted file that activation reads, never to the
-- serving file analysts read (docs/serving.md). The contact points are chosen in
-- int_customer_contact_points_as_of; hashes come from `hashed_identifier`, the one
-- definition of the form ad platforms match on.
with

int_customer_contact_points_as_of as (
    select * from {{ ref('int_customer_contact_points_as_of') }}
),

final as (
    select
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(email as {{ dbt.type_string() }}) as email,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        cast(phone_e164 as {{ dbt.type_string() }}) as phone_e164,
        cast(country_code as {{ dbt.type_string() }}) as country_code,
        cast(birth_date as date) as birth_date,
        cast({{ hashed_identifier('email', 'email') }} as {{ dbt.type_string() }}) as email_sha256,
        cast({{ hashed_identifier('phone', 'phone', 'calling_code') }} as {{ dbt.type_string() }}) as phone_sha256
    from int_customer_contact_points_as_of
)

select * from final
