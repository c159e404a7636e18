-- One row per active audience per customer its segments take at as_of (audience registry,
-- _audience_registry.yml): eligible, held out or excluded, with the first exclusion
-- reason that matched (int_audience_eligibility documents the order) and the holdout
-- bucket. Ids only; contact details are in activation.dim_customer_contacts.
with

int_audience_eligibility as (
    select * from {{ ref('int_audience_eligibility') }}
),

final as (
    select
        cast(audience_key as {{ dbt.type_string() }}) as audience_key,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(qualifying_segment_key as {{ dbt.type_string() }}) as qualifying_segment_key,
        cast(eligibility_status as {{ dbt.type_string() }}) as eligibility_status,
        cast(exclusion_reason as {{ dbt.type_string() }}) as exclusion_reason,
        cast(holdout_bucket as {{ dbt.type_int() }}) as holdout_bucket,
        cast(granted_purposes as {{ dbt.type_string() }}) as granted_purposes,
        cast(as_of_date as date) as as_of_date
    from int_audience_eligibility
)

select * from final
