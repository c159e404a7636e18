-- Every customer of dim_customers has exactly one row in dim_customer_segments, and its
-- primary segment is an active segment of the catalog. Returns the offending customers.
with

dim_customers as (
    select * from {{ ref('dim_customers') }}
),

dim_customer_segments as (
    select * from {{ ref('dim_customer_segments') }}
),

dim_segments as (
    select * from {{ ref('dim_segments') }}
),

rows_per_customer as (
    select
        dim_customers.customer_id,
        count(dim_customer_segments.customer_id) as customer_segment_rows,
        max(case when dim_segments.status = 'active' then 1 else 0 end) as has_active_primary
    from dim_customers
    left join dim_customer_segments
        on dim_customers.customer_id = dim_customer_segments.customer_id
    left join dim_segments
        on dim_customer_segments.primary_segment_key = dim_segments.segment_key
    group by dim_customers.customer_id
),

failures as (
    select * from rows_per_customer
    where customer_segment_rows != 1 or has_active_primary != 1
)

select * from failures
