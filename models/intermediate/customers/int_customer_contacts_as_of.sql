-- One row per customer with at least one CRM contact at as_of: the attributes of their
-- primary contact, the earliest CRM sign-up across their contacts and whether any of them
-- is a QA test account. Each contact counts at its latest version at or before the end of
-- the as_of day; the primary contact is the one changed most recently.
with

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

stg_crm__contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

contact_identifiers as (
    select
        customer_id,
        identifier_value as contact_id
    from int_identifiers_resolved_to_customers
    where identifier_type = 'contact_id'
        and (first_seen_at is null or first_seen_at < {{ as_of_cutoff() }})
),

contact_versions_ranked as (
    select
        stg_crm__contacts.*,
        row_number() over (
            partition by stg_crm__contacts.contact_id
            order by stg_crm__contacts.updated_at desc, stg_crm__contacts.loaded_at desc
        ) as version_recency
    from stg_crm__contacts
    where stg_crm__contacts.updated_at < {{ as_of_cutoff() }}
),

contacts_ranked as (
    select
        contact_identifiers.customer_id,
        contact_versions_ranked.contact_id,
        contact_versions_ranked.email,
        contact_versions_ranked.first_name,
        contact_versions_ranked.last_name,
        contact_versions_ranked.phone,
        contact_versions_ranked.country_code,
        contact_versions_ranked.birth_date,
        contact_versions_ranked.lifecycle_stage,
        contact_versions_ranked.signed_up_at,
        contact_versions_ranked.is_test_account,
        row_number() over (
            partition by contact_identifiers.customer_id
            order by contact_versions_ranked.updated_at desc, contact_versions_ranked.contact_id asc
        ) as contact_rank
    from contact_versions_ranked
    inner join contact_identifiers
        on contact_versions_ranked.contact_id = contact_identifiers.contact_id
    where contact_versions_ranked.version_recency = 1
),

contacts_summary as (
    select
        customer_id,
        min(signed_up_at) as crm_signed_up_at,
        max(case when is_test_account then 1 else 0 end) = 1 as is_test_account
    from contacts_ranked
    group by customer_id
),

final as (
    select
        contacts_ranked.customer_id,
        contacts_ranked.contact_id,
        contacts_ranked.email,
        contacts_ranked.first_name,
        contacts_ranked.last_name,
        contacts_ranked.phone,
        contacts_ranked.country_code,
        contacts_ranked.birth_date,
        contacts_ranked.lifecycle_stage,
        contacts_summary.crm_signed_up_at,
        contacts_summary.is_test_account
    from contacts_ranked
    inner join contacts_summary
        on contacts_ranked.customer_id = contacts_summary.customer_id
    where contacts_ranked.contact_rank = 1
)

select * from final
