{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['customer_id', 'segment_key', 'membership_state', 'opened_at'],
        full_refresh=false,
    )
}}
-- One row per customer per segment per spell in a membership state (member, primary,
-- consent_blocked; see int_segment_membership_states): opened by a build (valid_from_date,
-- its as_of; opened_at, its start) and closed by a later one (valid_to_date, closed_at;
-- null while open), each end with a reason and the profile values the rule read then.
-- Each build compares the open spells with the current states and writes only the spells
-- that ended or started, so a rebuild with the same data and as_of writes nothing, and a
-- second build on the same as_of records what its new data changed. Reasons compare with
-- the segment definitions the previous build used (recorded before this build started),
-- not with those of an earlier as_of. Full refresh is disabled: the history survives.
{%- if is_incremental() and execute and this is not string %}
    {%- set recorded_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list %}
    {%- if recorded_columns and 'membership_state' not in recorded_columns %}
        {{ exceptions.raise_compiler_error(
            "The membership history " ~ this ~ " was built before membership states (it has no "
            ~ "membership_state column). Drop it once to start a new history (`drop table " ~ this
            ~ "`); the next build records history_started for every current state."
        ) }}
    {%- endif %}
{%- endif %}

with

int_segment_membership_states as (
    select * from {{ ref('int_segment_membership_states') }}
),

-- the next four CTEs are used only in the incremental branch below (hence noqa: ST03)

int_segment_definitions_historized as (  -- noqa: ST03
    select * from {{ ref('int_segment_definitions_historized') }}
),

int_segment_rules_evaluated as (  -- noqa: ST03
    select * from {{ ref('int_segment_rules_evaluated') }}
),

int_customers_erased as (  -- noqa: ST03
    select * from {{ ref('int_customers_erased') }}
),

dim_customers as (  -- noqa: ST03
    select * from {{ ref('dim_customers') }}
),

{% if is_incremental() %}
    recorded_spells as (
        select * from {{ this }}
    ),

    open_spells as (
        select * from recorded_spells
        where valid_to_date is null
    ),

    registry_segments as (
        {{ segment_catalog_rows() }}
    ),

    latest_definitions as (
        select
            segment_key,
            rule_hash,
            status
        from int_segment_definitions_historized
        where definition_version = (
            select max(same_segment.definition_version)
            from int_segment_definitions_historized as same_segment
            where same_segment.segment_key = int_segment_definitions_historized.segment_key
        )
    ),

    -- The definitions the previous build used: the versions recorded before this build
    -- started (a version recorded by this build has recorded_at = this build's start).
    definitions_before_this_build as (
        select * from int_segment_definitions_historized
        where recorded_at is null
            or recorded_at < {{ build_started_at() }}
    ),

    previous_definitions as (
        select
            segment_key,
            rule_hash,
            status
        from definitions_before_this_build
        where definition_version = (
            select max(same_segment.definition_version)
            from definitions_before_this_build as same_segment
            where same_segment.segment_key = definitions_before_this_build.segment_key
        )
    ),

    erased_customers as (
        select distinct customer_id
        from int_customers_erased
        where requested_at < {{ as_of_cutoff() }}
    ),

    states_before as (
        select
            customer_id,
            segment_key,
            max(case when membership_state = 'member' then 1 else 0 end) = 1 as was_member,
            max(case when membership_state = 'consent_blocked' then 1 else 0 end) = 1 as was_consent_blocked
        from open_spells
        group by customer_id, segment_key
    ),

    states_now as (
        select
            customer_id,
            segment_key,
            max(case when membership_state = 'member' then 1 else 0 end) = 1 as is_member,
            max(case when membership_state = 'consent_blocked' then 1 else 0 end) = 1 as is_consent_blocked
        from int_segment_membership_states
        group by customer_id, segment_key
    ),

    ended_spells as (
        select
            open_spells.customer_id,
            open_spells.segment_key,
            open_spells.membership_state,
            open_spells.valid_from_date,
            {{ as_of_date() }} as valid_to_date,
            open_spells.opened_at,
            {{ build_started_at() }} as closed_at,
            open_spells.entry_reason,
            case
                when erased_customers.customer_id is not null then 'erasure'
                when dim_customers.customer_id is null then 'customer_removed'
                when registry_segments.segment_key is null
                    or latest_definitions.status != 'active' then 'segment_archived'
                when previous_definitions.rule_hash != latest_definitions.rule_hash then 'rule_changed'
                when open_spells.membership_state = 'primary' and states_now.is_member then 'outranked'
                when open_spells.membership_state = 'consent_blocked' and states_now.is_member then 'consent_granted'
                when open_spells.membership_state != 'consent_blocked' and states_now.is_consent_blocked
                    then 'consent_withdrawn'
                when int_segment_rules_evaluated.is_profile_too_incomplete then 'profile_incomplete'
                else 'rule_unmatched'
            end as exit_reason,
            open_spells.entry_rule_hash,
            case when erased_customers.customer_id is null then open_spells.entry_evidence end as entry_evidence,
            case
                when dim_customers.customer_id is not null
                    then {{ segment_evidence_case('open_spells.segment_key', 'dim_customers') }}
            end as exit_evidence
        from open_spells
        left join int_segment_membership_states as current_states
            on open_spells.customer_id = current_states.customer_id
                and open_spells.segment_key = current_states.segment_key
                and open_spells.membership_state = current_states.membership_state
        left join states_now
            on open_spells.customer_id = states_now.customer_id
                and open_spells.segment_key = states_now.segment_key
        left join erased_customers
            on open_spells.customer_id = erased_customers.customer_id
        left join dim_customers
            on open_spells.customer_id = dim_customers.customer_id
        left join registry_segments
            on open_spells.segment_key = registry_segments.segment_key
        left join latest_definitions
            on open_spells.segment_key = latest_definitions.segment_key
        left join previous_definitions
            on open_spells.segment_key = previous_definitions.segment_key
        left join int_segment_rules_evaluated
            on open_spells.customer_id = int_segment_rules_evaluated.customer_id
                and open_spells.segment_key = int_segment_rules_evaluated.segment_key
        where current_states.customer_id is null
    ),

    started_spells as (
        select
            current_states.customer_id,
            current_states.segment_key,
            current_states.membership_state,
            {{ as_of_date() }} as valid_from_date,
            cast(null as date) as valid_to_date,
            {{ build_started_at() }} as opened_at,
            cast(null as {{ dbt.type_timestamp() }}) as closed_at,
            case
                when previous_definitions.segment_key is null
                    or previous_definitions.status != 'active' then 'segment_activated'
                when previous_definitions.rule_hash != latest_definitions.rule_hash then 'rule_changed'
                when current_states.membership_state = 'primary' and states_before.was_member then 'no_longer_outranked'
                when current_states.membership_state != 'consent_blocked' and states_before.was_consent_blocked
                    then 'consent_granted'
                when current_states.membership_state = 'consent_blocked' and states_before.was_member
                    then 'consent_withdrawn'
                else 'rule_matched'
            end as entry_reason,
            cast(null as {{ dbt.type_string() }}) as exit_reason,
            current_states.rule_hash as entry_rule_hash,
            current_states.rule_evidence as entry_evidence,
            cast(null as {{ dbt.type_string() }}) as exit_evidence
        from int_segment_membership_states as current_states
        left join open_spells
            on current_states.customer_id = open_spells.customer_id
                and current_states.segment_key = open_spells.segment_key
                and current_states.membership_state = open_spells.membership_state
        left join states_before
            on current_states.customer_id = states_before.customer_id
                and current_states.segment_key = states_before.segment_key
        left join latest_definitions
            on current_states.segment_key = latest_definitions.segment_key
        left join previous_definitions
            on current_states.segment_key = previous_definitions.segment_key
        where open_spells.customer_id is null
    ),

    -- Erasure removes the profile values from every earlier spell of an erased customer
    -- (its open spells are closed above without them); the pseudonymous id and the
    -- reasons stay, so exits remain auditable.
    scrubbed_spells as (
        select
            recorded_spells.customer_id,
            recorded_spells.segment_key,
            recorded_spells.membership_state,
            recorded_spells.valid_from_date,
            recorded_spells.valid_to_date,
            recorded_spells.opened_at,
            recorded_spells.closed_at,
            recorded_spells.entry_reason,
            recorded_spells.exit_reason,
            recorded_spells.entry_rule_hash,
            cast(null as {{ dbt.type_string() }}) as entry_evidence,
            cast(null as {{ dbt.type_string() }}) as exit_evidence
        from recorded_spells
        inner join erased_customers
            on recorded_spells.customer_id = erased_customers.customer_id
        where recorded_spells.valid_to_date is not null
            and (recorded_spells.entry_evidence is not null or recorded_spells.exit_evidence is not null)
    ),

    changed_spells as (
        select * from ended_spells
        union all
        select * from started_spells
        union all
        select * from scrubbed_spells
    ),
{% else %}
    changed_spells as (
        select
            customer_id,
            segment_key,
            membership_state,
            {{ as_of_date() }} as valid_from_date,
            cast(null as date) as valid_to_date,
            {{ build_started_at() }} as opened_at,
            cast(null as {{ dbt.type_timestamp() }}) as closed_at,
            'history_started' as entry_reason,
            cast(null as {{ dbt.type_string() }}) as exit_reason,
            rule_hash as entry_rule_hash,
            rule_evidence as entry_evidence,
            cast(null as {{ dbt.type_string() }}) as exit_evidence
        from int_segment_membership_states
    ),
{% endif %}

final as (
    select
        customer_id,
        segment_key,
        membership_state,
        valid_from_date,
        valid_to_date,
        opened_at,
        closed_at,
        entry_reason,
        exit_reason,
        entry_rule_hash,
        entry_evidence,
        exit_evidence
    from changed_spells
)

select * from final
