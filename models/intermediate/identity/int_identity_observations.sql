-- One row per identifier, or pair of identifiers seen together, per evidence source,
-- counting only evidence at or before the as_of cutoff. A pair is the raw material of a
-- graph edge; a single identifier is a node seen without a partner.
-- Pairs are written in type precedence order (contact_id, shop_customer_id, email,
-- anonymous_id): the left identifier always has the lower precedence number.
-- The web analytics user_id of a logged-in visitor is the shop account id, so it is a
-- shop_customer_id node. Web and email evidence, which grows with events, is counted
-- incrementally in int_identity_event_observations; orders and CRM versions here.
with

int_identity_event_observations as (
    select * from {{ ref('int_identity_event_observations') }}
),

stg_shop__orders as (
    select * from {{ ref('stg_shop__orders') }}
),

stg_crm__contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

shop_evidence as (
    select
        case
            when shop_customer_id is not null then 'shop_customer_id'
            else 'email'
        end as identifier_type,
        coalesce(shop_customer_id, email) as identifier_value,
        case
            when shop_customer_id is not null and email is not null then 'email'
        end as linked_identifier_type,
        case
            when shop_customer_id is not null then email
        end as linked_identifier_value,
        'shop_order' as evidence_source,
        false as is_test_account,
        updated_at as observed_at
    from stg_shop__orders
    where updated_at < {{ as_of_cutoff() }}
        and (shop_customer_id is not null or email is not null)
),

crm_versions_in_window as (
    select
        contact_id,
        shop_customer_id,
        email,
        is_test_account,
        updated_at,
        row_number() over (
            partition by contact_id
            order by updated_at desc
        ) as version_recency_rank
    from stg_crm__contacts
    where updated_at < {{ as_of_cutoff() }}
),

crm_test_accounts as (
    select contact_id
    from crm_versions_in_window
    where version_recency_rank = 1
        and is_test_account
),

crm_versions_flagged as (
    select
        crm_versions_in_window.contact_id,
        crm_versions_in_window.shop_customer_id,
        crm_versions_in_window.email,
        crm_versions_in_window.updated_at,
        crm_test_accounts.contact_id is not null as is_test_account
    from crm_versions_in_window
    left join crm_test_accounts
        on crm_versions_in_window.contact_id = crm_test_accounts.contact_id
),

crm_evidence as (
    select
        'contact_id' as identifier_type,
        contact_id as identifier_value,
        'email' as linked_identifier_type,
        email as linked_identifier_value,
        'crm_contact' as evidence_source,
        is_test_account,
        updated_at as observed_at
    from crm_versions_flagged
    where email is not null

    union all

    select
        'contact_id' as identifier_type,
        contact_id as identifier_value,
        'shop_customer_id' as linked_identifier_type,
        shop_customer_id as linked_identifier_value,
        'crm_contact' as evidence_source,
        is_test_account,
        updated_at as observed_at
    from crm_versions_flagged
    where shop_customer_id is not null

    union all

    select
        'contact_id' as identifier_type,
        contact_id as identifier_value,
        cast(null as {{ dbt.type_string() }}) as linked_identifier_type,
        cast(null as {{ dbt.type_string() }}) as linked_identifier_value,
        'crm_contact' as evidence_source,
        is_test_account,
        updated_at as observed_at
    from crm_versions_flagged
    where email is null
        and shop_customer_id is null
),

record_evidence as (
    select * from shop_evidence
    union all
    select * from crm_evidence
),

record_observations as (
    select
        identifier_type,
        identifier_value,
        linked_identifier_type,
        linked_identifier_value,
        evidence_source,
        is_test_account,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        count(*) as evidence_count
    from record_evidence
    group by
        identifier_type,
        identifier_value,
        linked_identifier_type,
        linked_identifier_value,
        evidence_source,
        is_test_account
),

-- Web and email evidence arrives already aggregated, one row per observation.
event_observations as (
    select
        identifier_type,
        identifier_value,
        linked_identifier_type,
        linked_identifier_value,
        evidence_source,
        false as is_test_account,
        first_seen_at,
        last_seen_at,
        evidence_count
    from int_identity_event_observations
),

final as (
    select * from record_observations
    union all
    select * from event_observations
)

select * from final
