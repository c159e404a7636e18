{#-
    One row per identifier, or pair of identifiers seen together, per event evidence source
    (web_visit, web_login, email_platform), counting only events at or before the as_of
    cutoff: the part of int_identity_observations that grows with events, kept
    incrementally.

    Every row records the cutoff its events were counted against (`counted_before`). The
    events the table has not counted yet are exactly those loaded after its load
    high-water mark (however late they occurred) and those at or after the newest
    `counted_before` that the moved as_of now admits: every other event was loaded and
    within the cutoff when the last build counted. An incremental run counts only those
    events and adds them to the observations they belong to (earliest and latest time,
    count, newest load), so it reads the day's events, not every identifier's history.
    delete+insert on observation_id replaces the observations that grew.
    Moving as_of back needs --full-refresh, as for every incremental model.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='observation_id',
        on_schema_change='fail',
    )
}}

{%- if is_incremental() %}
    {%- set marks = high_water_marks({
        'loaded_through': 'max(max_loaded_at)',
        'counted_before': 'max(counted_before)',
    }) %}
    {#- Not counted yet: loaded after the mark, or admitted by the moved as_of. -#}
    {%- set loaded_since_counted = loaded_since_high_water_mark('loaded_at', marks) -%}
    {%- set admitted_since_counted = 'occurred_at >= ' ~ marks.counted_before -%}
{%- else %}
    {#- A full build counts every event. -#}
    {%- set loaded_since_counted = none -%}
    {%- set admitted_since_counted = none -%}
{%- endif %}

with

-- read twice on an incremental run (the two sides of union_where_either): inlined, not
-- materialised whole
stg_web__events as {{ not_materialized() }} (
    select * from {{ ref('stg_web__events') }}
),

stg_email__events as {{ not_materialized() }} (
    select * from {{ ref('stg_email__events') }}
),

web_events_observed as (
    {% call union_where_either(loaded_since_counted, admitted_since_counted) -%}
        select
            user_id,
            anonymous_id,
            occurred_at,
            loaded_at
        from stg_web__events
        where occurred_at < {{ as_of_cutoff() }}
            and (user_id is not null or anonymous_id is not null)
    {%- endcall %}
),

email_events_observed as (
    {% call union_where_either(loaded_since_counted, admitted_since_counted) -%}
        select
            email,
            occurred_at,
            loaded_at
        from stg_email__events
        where occurred_at < {{ as_of_cutoff() }}
            and email is not null
    {%- endcall %}
),

-- Each source is counted on its own columns, the account and browser of a web event and
-- the address of an email event, whose groups are exactly its observations; the
-- observation's columns are derived per group afterwards, which is cheaper than grouping
-- every event on the five derived columns.
web_observations as (
    select
        user_id,
        anonymous_id,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        count(*) as evidence_count,
        max(loaded_at) as max_loaded_at
    from web_events_observed
    group by
        user_id,
        anonymous_id
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
        first_seen_at,
        last_seen_at,
        evidence_count,
        max_loaded_at
    from web_observations
),

email_observations as (
    select
        email,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        count(*) as evidence_count,
        max(loaded_at) as max_loaded_at
    from email_events_observed
    group by email
),

email_evidence as (
    select
        'email' as identifier_type,
        email as identifier_value,
        cast(null as {{ dbt.type_string() }}) as linked_identifier_type,
        cast(null as {{ dbt.type_string() }}) as linked_identifier_value,
        'email_platform' as evidence_source,
        first_seen_at,
        last_seen_at,
        evidence_count,
        max_loaded_at
    from email_observations
),

new_observations as (
    select * from web_evidence
    union all
    select * from email_evidence
),

keyed_new_observations as (
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
        max_loaded_at
    from new_observations
),

final as (
    select
        keyed_new_observations.observation_id,
        keyed_new_observations.identifier_type,
        keyed_new_observations.identifier_value,
        keyed_new_observations.linked_identifier_type,
        keyed_new_observations.linked_identifier_value,
        keyed_new_observations.evidence_source,
        {% if is_incremental() %}
            -- The new events added to what the observation counted before (least and
            -- greatest skip the null of an observation seen for the first time).
            least(counted.first_seen_at, keyed_new_observations.first_seen_at) as first_seen_at,
            greatest(counted.last_seen_at, keyed_new_observations.last_seen_at) as last_seen_at,
            keyed_new_observations.evidence_count + coalesce(counted.evidence_count, 0) as evidence_count,
            greatest(counted.max_loaded_at, keyed_new_observations.max_loaded_at) as max_loaded_at,
        {% else %}
            keyed_new_observations.first_seen_at,
            keyed_new_observations.last_seen_at,
            keyed_new_observations.evidence_count,
            keyed_new_observations.max_loaded_at,
        {% endif %}
        {{ as_of_cutoff() }} as counted_before,
        {{ build_started_at() }} as built_at
    from keyed_new_observations
    {% if is_incremental() %}
        left join {{ this }} as counted
            on keyed_new_observations.identifier_type = counted.identifier_type
            and keyed_new_observations.identifier_value = counted.identifier_value
            and keyed_new_observations.evidence_source = counted.evidence_source
            and coalesce(keyed_new_observations.linked_identifier_type, '') = coalesce(counted.linked_identifier_type, '')
            and coalesce(keyed_new_observations.linked_identifier_value, '') = coalesce(counted.linked_identifier_value, '')
    {% endif %}
)

select * from final
