-- One row per customer known at as_of (an identifier first seen before the end of the as_of
-- day) who is neither erased nor a QA test account: the population every profile, score and
-- segment is computed for. Carries when the customer was first seen and, for customers
-- whose CRM contact lacks them, their first shop account and first email address.
with

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

int_customers_erased as (
    select * from {{ ref('int_customers_erased') }}
),

int_customer_contacts_as_of as (
    select * from {{ ref('int_customer_contacts_as_of') }}
),

identifiers_as_of as (
    select
        customer_id,
        identifier_type,
        identifier_value,
        first_seen_at,
        row_number() over (
            partition by customer_id, identifier_type
            order by first_seen_at, identifier_value
        ) as identifier_rank
    from int_identifiers_resolved_to_customers
    where first_seen_at is null or first_seen_at < {{ as_of_cutoff() }}
),

customers_summary as (
    select
        customer_id,
        min(first_seen_at) as first_seen_at,
        min(case when identifier_type = 'shop_customer_id' and identifier_rank = 1 then identifier_value end)
            as shop_customer_id,
        min(case when identifier_type = 'email' and identifier_rank = 1 then identifier_value end)
            as first_email
    from identifiers_as_of
    group by customer_id
),

final as (
    select
        customers_summary.customer_id,
        customers_summary.first_seen_at,
        customers_summary.shop_customer_id,
        customers_summary.first_email
    from customers_summary
    left join int_customers_erased
        on customers_summary.customer_id = int_customers_erased.customer_id
    left join int_customer_contacts_as_of
        on customers_summary.customer_id = int_customer_contacts_as_of.customer_id
    where int_customers_erased.customer_id is null
        and coalesce(int_customer_contacts_as_of.is_test_account, false) = false
)

select * from final
