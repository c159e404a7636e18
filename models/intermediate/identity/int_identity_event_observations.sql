{#-
    One row per identifier, or pair of identifiers seen together, per event evidence source
    (web_visit, web_login, email_platform), counting only events at or before the as_of
    cutoff: the part of int_identity_observations that grows with events, kept
    incrementally.

    Incremental runs find the identifiers touched by a row loaded after the load high-water
    mark, or by an event within var('incremental_lookback_days') of event time before the
    newest one counted (which also admits the events a moved as_of now reaches), and
    recompute every observation that contains a touched identifier from all of its events.
    A touched observation always contains a touched identifier, so delete+insert on
    observation_id replaces exactly the observations that changed.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='observation_id',
        on_schema_change='fail',
    )
}}

with

stg_web__events as (
    select * from {{ ref('stg_web__events') }}
),

stg_email__events as (
    select * from {{ ref('stg_email__events') }}
),

{% if is_incremental() %}
    {%- set marks = high_water_marks({
        'loaded_through': 'max(max_loaded_at)',
        'occurred_through': 'max(last_seen_at)',
    }) %}

    -- The touched web events, read straight from the staged events (DuckDB materialises
    -- a CTE that is read twice, and stg_web__events is every event); this one is read
    -- twice, once per identifier column, and holds only the events of the run.
    touched_web_events as (
        select
            staged_events.anonymous_id,
            staged_events.user_id
        from {{ ref('stg_web__events') }} as staged_events
        where staged_events.occurred_at < {{ as_of_cutoff() }}
            and {{ touched_since_high_water_mark('staged_events.loaded_at', 'staged_events.occurred_at', marks) }}
    ),

    touched_web_identifiers as (
        select anonymous_id as identifier_value
        from touched_web_events
        where anonymous_id is not null

        union

        select user_id as identifier_value
        from touched_web_events
        where user_id is not null
    ),

    touched_emails as (
        select distinct staged_events.email
        from {{ ref('stg_email__events') }} as staged_events
        where staged_events.occurred_at < {{ as_of_cutoff() }}
            and staged_events.email is not null
            and {{ touched_since_high_water_mark('staged_events.loaded_at', 'staged_events.occurred_at', marks) }}
    ),

{% endif %}

web_events_observed as (
    select
        user_id,
        anonymous_id,
        occurred_at,
        loaded_at
    from stg_web__events
    where occurred_at < {{ as_of_cutoff() }}
        and (user_id is not null or anonymous_id is not null)
    {% if is_incremental() %}
        and (
            anonymous_id in (select identifier_value from touched_web_identifiers)
            or user_id in (select identifier_value from touched_web_identifiers)
        )
    {% endif %}
),

email_events_observed as (
    select
        email,
        occurred_at,
        loaded_at
    from stg_email__events
    where occurred_at < {{ as_of_cutoff() }}
        and email is not null
    {% if is_incremental() %}
        and email in (select email from touched_emails)
    {% endif %}
),

-- The web analytics user_id of a logged-in visitor is the shop account id, so it is a
-- shop_customer_id node; a login links it to the browser.
web_evidence as (
    select
        case
            when user_id is not null then 'shop_customer_id'
            else 'anonymous_id'
        end as identifier_type,
        coalesce(user_id, anonymous_id) as identifier_value,
        case
            when user_id is not null and anonymous_id is not null then 'anonymous_id'
        end as linked_identifier_type,
        case
            when user_id is not null then anonymous_id
        end as linked_identifier_value,
        case
            when user_id is not null and anonymous_id is not null then 'web_login'
            else 'web_visit'
        end as evidence_source,
        occurred_at as observed_at,
        loaded_at
    from web_events_observed
),

email_evidence as (
    select
        'email' as identifier_type,
        email as identifier_value,
        cast(null as {{ dbt.type_string() }}) as linked_identifier_type,
        cast(null as {{ dbt.type_string() }}) as linked_identifier_value,
        'email_platform' as evidence_source,
        occurred_at as observed_at,
        loaded_at
    from email_events_observed
),

all_evidence as (
    select * from web_evidence
    union all
    select * from email_evidence
),

observations as (
    select
        identifier_type,
        identifier_value,
        linked_identifier_type,
        linked_identifier_value,
        evidence_source,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        count(*) as evidence_count,
        max(loaded_at) as max_loaded_at
    from all_evidence
    group by
        identifier_type,
        identifier_value,
        linked_identifier_type,
        linked_identifier_value,
        evidence_source
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            "evidence_source",
            "'|'",
            "identifier_type",
            "'|'",
            "identifier_value",
            "'|'",
            "coalesce(linked_identifier_type, '')",
            "'|'",
            "coalesce(linked_identifier_value, '')",
        ])) }} as observation_id,
        identifier_type,
        identifier_value,
        linked_identifier_type,
        linked_identifier_value,
        evidence_source,
        first_seen_at,
        last_seen_at,
        evidence_count,
        max_loaded_at,
        {{ build_started_at() }} as built_at
    from observations
)

select * from final
