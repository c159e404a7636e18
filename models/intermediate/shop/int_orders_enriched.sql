{#-
    One row per shop order at its latest version at or before as_of, attributed to a
    customer (shop account first, else the order's email) with its counted net revenue.

    Incremental runs recompute whole orders, from all of their versions:
    - orders with a version loaded after the table's load high-water mark, or changed or
      placed after the newest version the table has used (a version a moved as_of now
      admits, since every older one was already considered);
    - orders whose shop account or email `int_identifier_customer_changes` recorded as
      moved to another customer since this table's last build.
    An order never leaves the table (as_of only moves forward), so recomputed orders
    replace their rows by order_id.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        on_schema_change='fail',
    )
}}
-- depends_on: {{ ref('int_identifier_customer_changes') }}

with

stg_shop__orders as {{ not_materialized() }} (
    select * from {{ ref('stg_shop__orders') }}
),

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

{%- set attribution_identifier_types = ['shop_customer_id', 'email'] %}

{% if is_incremental() %}
    {%- set marks = high_water_marks({
        'loaded_through': 'max(loaded_at)',
        'occurred_through': 'max(greatest(updated_at, ordered_at))',
        'built_through': 'max(built_at)',
    }) %}

    unapplied_identity_changes as (
        {{ unapplied_identity_changes(attribution_identifier_types, marks.built_through) }}
    ),

    recomputed_orders as (
        select order_id
        from stg_shop__orders
        where {{ touched_since_high_water_mark('loaded_at', 'greatest(updated_at, ordered_at)', marks) }}

        {%- for identifier_type in attribution_identifier_types %}

        union

        select stg_shop__orders.order_id
        from stg_shop__orders
        inner join unapplied_identity_changes
            on unapplied_identity_changes.identifier_type = '{{ identifier_type }}'
                and stg_shop__orders.{{ identifier_type }} = unapplied_identity_changes.identifier_value
        {%- endfor %}
    ),

    order_versions as (
        select stg_shop__orders.*
        from stg_shop__orders
        where stg_shop__orders.order_id in (select recomputed_orders.order_id from recomputed_orders)
    ),

{% else %}

    order_versions as (
        select * from stg_shop__orders
    ),

{% endif %}

versions_before_cutoff as (
    select
        *,
        row_number() over (
            partition by order_id
            order by updated_at desc, loaded_at desc
        ) as version_recency
    from order_versions
    where updated_at < {{ as_of_cutoff() }}
        and ordered_at < {{ as_of_cutoff() }}
),

latest_versions as (
    select * from versions_before_cutoff
    where version_recency = 1
),

attributed as (
    select
        latest_versions.*,
        coalesce(by_account.customer_id, by_email.customer_id) as customer_id
    from latest_versions
    left join int_identifiers_resolved_to_customers as by_account
        on by_account.identifier_type = 'shop_customer_id'
            and latest_versions.shop_customer_id = by_account.identifier_value
    left join int_identifiers_resolved_to_customers as by_email
        on by_email.identifier_type = 'email'
            and latest_versions.email = by_email.identifier_value
),

final as (
    select
        -- ids
        order_id,
        customer_id,
        shop_customer_id,

        -- strings
        email,
        order_status,
        currency_code,

        -- booleans
        is_guest_checkout,
        is_cancelled_or_refunded,
        order_total_usd < 0 as is_credit_note,
        order_total_usd >= 0 and not is_cancelled_or_refunded as is_counted_order,

        -- numerics
        order_total,
        order_total_usd,
        cast(
            case
                when order_total_usd < 0 then order_total_usd
                when is_cancelled_or_refunded then 0
                else order_total_usd
            end
            as decimal(18, 2)
        ) as counted_revenue_usd,

        -- timestamps
        ordered_at,
        cast(ordered_at as date) as ordered_date,
        updated_at,

        -- lineage
        loaded_at,
        {{ build_started_at() }} as built_at
    from attributed
)

select * from final
