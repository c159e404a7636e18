-- One row per identifier that may not bridge people, with the reason and its link
-- count. Rules, first match wins:
--   test_account    the identifier belongs to a CRM test account (the contact, and every
--                   email and shop account its versions carry);
--   shared_device   an anonymous_id that logged in as more than
--                   identity_max_shop_accounts_per_device shop accounts (default 1): a
--                   family computer, a shop terminal;
--   too_many_links  any identifier linked to more than identity_max_links_per_identifier
--                   distinct person-level identifiers (contact_id, shop_customer_id,
--                   email): a shared or placeholder email, a reused account.
{%- set max_links = var('identity_max_links_per_identifier') | int %}
{%- set max_shop_accounts_per_device = var('identity_max_shop_accounts_per_device', 1) | int %}
with

int_identity_observations as (
    select * from {{ ref('int_identity_observations') }}
),

observed_pairs as (
    select *
    from int_identity_observations
    where linked_identifier_value is not null
),

neighbours as (
    select
        identifier_type,
        identifier_value,
        linked_identifier_type as neighbour_type,
        linked_identifier_value as neighbour_value
    from observed_pairs

    union all

    select
        linked_identifier_type as identifier_type,
        linked_identifier_value as identifier_value,
        identifier_type as neighbour_type,
        identifier_value as neighbour_value
    from observed_pairs
),

person_level_neighbours as (
    select distinct
        identifier_type,
        identifier_value,
        neighbour_type,
        neighbour_value
    from neighbours
    where neighbour_type in ({{ identity_person_level_types() }})
),

link_counts as (
    select
        identifier_type,
        identifier_value,
        count(*) as link_count,
        count(case when neighbour_type = 'shop_customer_id' then 1 end) as linked_shop_account_count
    from person_level_neighbours
    group by
        identifier_type,
        identifier_value
),

test_account_observations as (
    select *
    from int_identity_observations
    where is_test_account
),

test_account_identifiers as (
    select
        identifier_type,
        identifier_value
    from test_account_observations

    union

    select
        linked_identifier_type as identifier_type,
        linked_identifier_value as identifier_value
    from test_account_observations
    where linked_identifier_value is not null
),

candidates as (
    select
        identifier_type,
        identifier_value
    from link_counts

    union

    select
        identifier_type,
        identifier_value
    from test_account_identifiers
),

classified as (
    select
        candidates.identifier_type,
        candidates.identifier_value,
        case
            when test_account_identifiers.identifier_value is not null
                then 'test_account'
            when candidates.identifier_type = 'anonymous_id'
                and link_counts.linked_shop_account_count > {{ max_shop_accounts_per_device }}
                then 'shared_device'
            when link_counts.link_count > {{ max_links }}
                then 'too_many_links'
        end as block_reason,
        coalesce(link_counts.link_count, 0) as link_count,
        coalesce(link_counts.linked_shop_account_count, 0) as linked_shop_account_count
    from candidates
    left join link_counts
        on candidates.identifier_type = link_counts.identifier_type
            and candidates.identifier_value = link_counts.identifier_value
    left join test_account_identifiers
        on candidates.identifier_type = test_account_identifiers.identifier_type
            and candidates.identifier_value = test_account_identifiers.identifier_value
),

final as (
    select
        identifier_type,
        identifier_value,
        block_reason,
        link_count,
        linked_shop_account_count
    from classified
    where block_reason is not null
)

select * from final
