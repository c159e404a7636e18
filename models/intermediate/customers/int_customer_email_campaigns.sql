{#-
    One row per customer per campaign any of their email addresses received events for,
    with the earliest send, open and click across those addresses.

    Incremental runs recompute whole customers, from all of their addresses' campaigns:
    - customers with an (address, campaign) pair loaded after the table's load high-water
      mark, or with an event after the latest one the table has seen (an event a moved
      as_of now admits, since every older one is already counted);
    - both the previous and the new customer of every address that
      `int_identifier_customer_changes` recorded as moved since this table's last build.
    The batch holds one key-only row per recomputed customer besides its campaigns, so the
    replace_keys strategy also clears a customer left with no activity (one whose
    addresses moved away, or that vanished in a merge).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key='customer_id',
        key_only_when_null='campaign_id',
        on_schema_change='fail',
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
        customer_id
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

    touched_customers as (
        select email_customers.customer_id
        from int_email_recipient_campaigns
        inner join email_customers
            on int_email_recipient_campaigns.email = email_customers.email
        where int_email_recipient_campaigns.max_loaded_at > {{ marks.loaded_through }}
            or int_email_recipient_campaigns.last_event_at > {{ marks.occurred_through }}

        union

        {{ reassigned_customers() }}
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

recipients_attributed as (
    select
        recomputed_emails.customer_id,
        int_email_recipient_campaigns.*
    from int_email_recipient_campaigns
    inner join recomputed_emails
        on int_email_recipient_campaigns.email = recomputed_emails.email
),

customer_campaigns as (
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
        from touched_customers
    )

{% else %}

    final as (
        select * from campaigns_final
    )

{% endif %}

select * from final
