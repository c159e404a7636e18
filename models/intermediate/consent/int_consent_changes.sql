-- One row per consent signal per customer per channel and purpose it applies to, captured
-- before the end of the as_of day: CRM grants and revocations (a null purpose covers every
-- purpose of its channel; channel 'all' revoked, a global unsubscribe, covers every
-- channel and purpose), and the email platform's unsubscribes and spam complaints
-- (withdrawals of every email purpose). Each row carries the status it leaves the
-- customer's channel and purpose in and the status before it: within a customer, channel
-- and purpose the latest signal wins (the later source event id breaks a tie), so a
-- global unsubscribe overrides earlier grants and a later grant restores its channel.
with

stg_crm__consent_events as (
    select * from {{ ref('stg_crm__consent_events') }}
),

stg_email__events as (
    select * from {{ ref('stg_email__events') }}
),

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

int_customers_as_of as (
    select * from {{ ref('int_customers_as_of') }}
),

consent_purposes as (
    select * from {{ ref('consent_purposes') }}
),

identifiers_as_of as (
    select
        int_identifiers_resolved_to_customers.identifier_type,
        int_identifiers_resolved_to_customers.identifier_value,
        int_identifiers_resolved_to_customers.customer_id
    from int_identifiers_resolved_to_customers
    inner join int_customers_as_of
        on int_identifiers_resolved_to_customers.customer_id = int_customers_as_of.customer_id
    where int_identifiers_resolved_to_customers.identifier_type in ('contact_id', 'email')
        and (
            int_identifiers_resolved_to_customers.first_seen_at is null
            or int_identifiers_resolved_to_customers.first_seen_at < {{ as_of_cutoff() }}
        )
),

crm_signals as (
    select
        identifiers_as_of.customer_id,
        'crm' as consent_source,
        stg_crm__consent_events.consent_event_id as source_event_id,
        case
            when stg_crm__consent_events.channel = 'all' then 'global_unsubscribe'
            when stg_crm__consent_events.is_granted then 'crm_grant'
            else 'crm_revocation'
        end as signal_type,
        stg_crm__consent_events.channel as signal_channel,
        stg_crm__consent_events.purpose as signal_purpose,
        stg_crm__consent_events.is_granted,
        stg_crm__consent_events.capture_source,
        stg_crm__consent_events.occurred_at as captured_at,
        stg_crm__consent_events.loaded_at
    from stg_crm__consent_events
    inner join identifiers_as_of
        on identifiers_as_of.identifier_type = 'contact_id'
            and stg_crm__consent_events.contact_id = identifiers_as_of.identifier_value
    where stg_crm__consent_events.occurred_at < {{ as_of_cutoff() }}
),

email_platform_signals as (
    select
        identifiers_as_of.customer_id,
        'email_platform' as consent_source,
        stg_email__events.email_event_id as source_event_id,
        case
            when stg_email__events.event_type = 'unsubscribe' then 'platform_unsubscribe'
            else 'spam_complaint'
        end as signal_type,
        'email' as signal_channel,
        cast(null as {{ dbt.type_string() }}) as signal_purpose,
        false as is_granted,
        stg_email__events.event_type as capture_source,
        stg_email__events.occurred_at as captured_at,
        stg_email__events.loaded_at
    from stg_email__events
    inner join identifiers_as_of
        on identifiers_as_of.identifier_type = 'email'
            and stg_email__events.email = identifiers_as_of.identifier_value
    where stg_email__events.event_type in ('unsubscribe', 'spam_complaint')
        and stg_email__events.occurred_at < {{ as_of_cutoff() }}
),

signals as (
    select * from crm_signals
    union all
    select * from email_platform_signals
),

-- A signal applies to the purposes of its channel ('all': every purpose), or to its one
-- purpose when it names one.
signals_expanded as (
    select
        signals.customer_id,
        consent_purposes.channel,
        consent_purposes.purpose,
        signals.consent_source,
        signals.source_event_id,
        signals.signal_type,
        signals.is_granted,
        signals.capture_source,
        signals.captured_at,
        signals.loaded_at
    from signals
    inner join consent_purposes
        on (signals.signal_channel = 'all' or signals.signal_channel = consent_purposes.channel)
            and (signals.signal_purpose is null or signals.signal_purpose = consent_purposes.purpose)
),

statuses_sequenced as (
    select
        *,
        case when is_granted then 'granted' else 'withdrawn' end as consent_status,
        lag(case when is_granted then 'granted' else 'withdrawn' end) over (
            partition by customer_id, channel, purpose
            order by captured_at, source_event_id
        ) as previous_status,
        row_number() over (
            partition by customer_id, channel, purpose
            order by captured_at desc, source_event_id desc
        ) as recency_rank
    from signals_expanded
),

final as (
    select
        customer_id,
        channel,
        purpose,
        consent_source,
        source_event_id,
        signal_type,
        capture_source,
        consent_status,
        coalesce(previous_status, 'not_captured') as previous_consent_status,
        is_granted,
        recency_rank = 1 as is_latest,
        captured_at,
        loaded_at
    from statuses_sequenced
)

select * from final
