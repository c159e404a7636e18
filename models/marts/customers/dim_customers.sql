-- One row per customer (a person stitched across CRM, shop, web and email) as of the
-- as_of date, excluding erased customers and test accounts: the contract-enforced public
-- face of int_customer_profiles, where the profile is assembled (see the README's "where
-- to change what" table for the model behind each feature).
with

int_customer_profiles as (
    select * from {{ ref('int_customer_profiles') }}
),

final as (
    select * from int_customer_profiles
)

select * from final
