{#-
    One row per customer per CRM change that moved them into the churned lifecycle stage,
    at or before as_of. A customer's lifecycle_stage (dim_customers) is the stage of their
    most recently changed CRM contact, so its history is the sequence of all their
    contacts' versions by updated_at: a churn is a version whose stage is 'churned' when
    the version before it (of any of the customer's contacts) was not. A customer whose
    first known stage is already 'churned' did not move there while observed and counts
    no churn. The CRM keeps every contact version (stg_crm__contacts), so the history
    needs no snapshot of its own.
-#}

with

stg_crm__contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

contact_customers as (
    select
        identifier_value as contact_id,
        customer_id
    from int_identifiers_resolved_to_customers
    where identifier_type = 'contact_id'
),

customer_stage_versions as (
    select
        contact_customers.customer_id,
        stg_crm__contacts.contact_id,
        stg_crm__contacts.lifecycle_stage,
        stg_crm__contacts.updated_at,
        lag(stg_crm__contacts.lifecycle_stage) over (
            partition by contact_customers.customer_id
            order by stg_crm__contacts.updated_at, stg_crm__contacts.loaded_at, stg_crm__contacts.contact_id
        ) as previous_lifecycle_stage,
        row_number() over (
            partition by contact_customers.customer_id
            order by stg_crm__contacts.updated_at, stg_crm__contacts.loaded_at, stg_crm__contacts.contact_id
        ) as version_number
    from stg_crm__contacts
    inner join contact_customers
        on stg_crm__contacts.contact_id = contact_customers.contact_id
    where stg_crm__contacts.updated_at < {{ as_of_cutoff() }}
),

final as (
    select
        customer_id,
        contact_id,
        cast(updated_at as date) as churned_date,
        updated_at as churned_at,
        previous_lifecycle_stage
    from customer_stage_versions
    where lifecycle_stage = 'churned'
        and version_number > 1
        and coalesce(previous_lifecycle_stage, 'unknown') != 'churned'
)

select * from final
