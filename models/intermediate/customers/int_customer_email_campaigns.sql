{#-
    One row per customer per campaign any of their email addresses received events for,
    with the earliest send, open and click across those addresses.

    Incremental runs recompute:
    - whole customers, from all of their addresses' campaigns: both the previous and the
      new customer of every address that `int_identifier_customer_changes` recorded as
      moved since this table's last build (their set of addresses changed);
    - for every other customer, only the campaigns with an (address, campaign) pair
      loaded after the table's load high-water mark, or with an event after the latest
      one the table has seen (an event a moved as_of now admits, since every older one is
      already counted), each from all of the customer's addresses. Its other campaigns
      have the same addresses and pairs as before, so their rows stay.
    The batch holds one key-only row per customer recomputed whole, and the replace_keys
    strategy (`replace_single_rows`) replaces those customers whole, which also clears a
    customer left with no activity (one whose addresses moved away, or that vanished in a
    merge), and only the recomputed campaigns of the others. A send to 300,000 customers
    rewrites 300,000 rows, not every campaign of those customers.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key='customer_id',
        key_only_when_null='campaign_id',
        replace_single_rows=true,
        on_schema_change='fail',
        post_hook="{{ purge_expired_rows('email', 'last_event_at') }}",
    )
}}
-- depends_on: {{ ref('int_identifier_customer_changes') }}

with

-- read in several places below: inlined, not materialised whole
int_email_recipient_campaigns as {{ not_materialized() }} (
    select * from {{ ref('int_email_recipient_campaigns') }}
),

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

email_customers as (
    select
        identifier_value as email,
        customer_id,
        count(*) over (partition by customer_id) as customer_email_count
    from int_identifiers_resolved_to_customers
    where identifier_type = 'email'
),

{% if is_incremental() %}
    {%- set marks = high_water_marks({
        'loaded_through': 'max(max_loaded_at)',
        'occurred_through': 'max(last_event_at)',
        'built_through': 'max(built_at)',
    }) %}

    unapplied_identity_changes as (
        {{ unapplied_identity_changes(['email'], marks.built_through) }}
    ),

    -- The new or newly admitted pairs.
    touched_recipient_campaigns as (
        {% call union_where_either(
            loaded_since_high_water_mark('max_loaded_at', marks),
            'last_event_at > ' ~ marks.occurred_through
        ) -%}
            select
                email,
                campaign_id,
                max_loaded_at,
                last_event_at
            from int_email_recipient_campaigns
        {%- endcall %}
    ),

    -- The campaigns with a new or newly admitted pair, with the customer they belong to.
    touched_customer_campaigns as (
        select distinct
            email_customers.customer_id,
            touched_recipient_campaigns.campaign_id
        from touched_recipient_campaigns
        inner join email_customers
            on touched_recipient_campaigns.email = email_customers.email
    ),

    reassigned as (
        {{ reassigned_customers() }}
    ),

    touched_customers as (
        select touched_customer_campaigns.customer_id
        from touched_customer_campaigns

        union

        select reassigned.customer_id
        from reassigned
    ),

    recomputed_emails as (
        select email_customers.*
        from email_customers
        where email_customers.customer_id in (select touched_customers.customer_id from touched_customers)
    ),

{% else %}

    recomputed_emails as (
        select * from email_customers
    ),

{% endif %}

-- read twice below (one address or several): inlined, not materialised whole
recipients_attributed as {{ not_materialized() }} (
    select
        recomputed_emails.customer_id,
        recomputed_emails.customer_email_count,
        int_email_recipient_campaigns.*
    from int_email_recipient_campaigns
    inner join recomputed_emails
        on int_email_recipient_campaigns.email = recomputed_emails.email
    {% if is_incremental() %}
        -- A reassigned customer whole, any other only in its touched campaigns.
        where recomputed_emails.customer_id in (select reassigned.customer_id from reassigned)
            or (recomputed_emails.customer_id, int_email_recipient_campaigns.campaign_id) in (
                select
                    touched_customer_campaigns.customer_id,
                    touched_customer_campaigns.campaign_id
                from touched_customer_campaigns
            )
    {% endif %}
),

-- A customer with one address has one (address, campaign) pair per campaign, already
-- whole: only the campaigns of customers with several addresses are combined.
customer_campaigns as (
    select
        customer_id,
        campaign_id,
        first_event_at,
        last_event_at,
        first_sent_at,
        first_opened_at,
        last_opened_at,
        first_clicked_at,
        last_clicked_at,
        max_loaded_at
    from recipients_attributed
    where customer_email_count = 1

    union all

    select
        customer_id,
        campaign_id,
        min(first_event_at) as first_event_at,
        max(last_event_at) as last_event_at,
        min(first_sent_at) as first_sent_at,
        min(first_opened_at) as first_opened_at,
        max(last_opened_at) as last_opened_at,
        min(first_clicked_at) as first_clicked_at,
        max(last_clicked_at) as last_clicked_at,
        max(max_loaded_at) as max_loaded_at
    from recipients_attributed
    where customer_email_count > 1
    group by
        customer_id,
        campaign_id
),

campaigns_final as (
    select
        customer_id,
        campaign_id,
        first_sent_at is not null as was_sent,
        first_opened_at is not null as was_opened,
        first_clicked_at is not null as was_clicked,
        cast(coalesce(first_sent_at, first_event_at) as date) as activity_date,
        first_event_at,
        last_event_at,
        first_sent_at,
        first_opened_at,
        last_opened_at,
        first_clicked_at,
        last_clicked_at,
        max_loaded_at,
        {{ build_started_at() }} as built_at
    from customer_campaigns
),

{% if is_incremental() %}

    final as (
        select * from campaigns_final

        union all

        select
            customer_id,
            cast(null as {{ dbt.type_string() }}) as campaign_id,
            cast(null as {{ dbt.type_boolean() }}) as was_sent,
            cast(null as {{ dbt.type_boolean() }}) as was_opened,
            cast(null as {{ dbt.type_boolean() }}) as was_clicked,
            cast(null as date) as activity_date,
            cast(null as {{ dbt.type_timestamp() }}) as first_event_at,
            cast(null as {{ dbt.type_timestamp() }}) as last_event_at,
            cast(null as {{ dbt.type_timestamp() }}) as first_sent_at,
            cast(null as {{ dbt.type_timestamp() }}) as first_opened_at,
            cast(null as {{ dbt.type_timestamp() }}) as last_opened_at,
            cast(null as {{ dbt.type_timestamp() }}) as first_clicked_at,
            cast(null as {{ dbt.type_timestamp() }}) as last_clicked_at,
            cast(null as {{ dbt.type_timestamp() }}) as max_loaded_at,
            {{ build_started_at() }} as built_at
        from reassigned
    )

{% else %}

    final as (
        select * from campaigns_final
    )

{% endif %}

select * from final
