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
-- the segment definitions the previous build used (int_segment_definitions_this_run),
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

int_segment_definitions_this_run as (  -- noqa: ST03
    select * from {{ ref('int_segment_definitions_this_run') }}
),

int_segment_rules_evaluated as (  -- noqa: ST03
    select * from {{ ref('int_segment_rules_evaluated') }}
),

int_customers_erased as (  -- noqa: ST03
    select * from {{ ref('int_customers_erased') }}
),

int_customer_profiles as (  -- noqa: ST03
    select * from {{ ref('int_customer_profiles') }}
),

int_segment_condition_values as (  -- noqa: ST03
    select * from {{ ref('int_segment_condition_values') }}
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

    -- The states each customer-segment pair held before this build (its open spells) and
    -- holds now, flagged in one pass over both.
    held_states as (
        select
            customer_id,
            segment_key,
            membership_state,
            true as is_open_spell
        from open_spells
        union all
        select
            customer_id,
            segment_key,
            membership_state,
            false as is_open_spell
        from int_segment_membership_states
    ),

    state_flags as (
        select
            customer_id,
            segment_key,
            max(case when is_open_spell and membership_state = 'member' then 1 else 0 end) = 1 as was_member,
            max(case when is_open_spell and membership_state = 'consent_blocked' then 1 else 0 end) = 1
                as was_consent_blocked,
            max(case when not is_open_spell and membership_state = 'member' then 1 else 0 end) = 1 as is_member,
            max(case when not is_open_spell and membership_state = 'consent_blocked' then 1 else 0 end) = 1
                as is_consent_blocked
        from held_states
        group by customer_id, segment_key
    ),

    -- what behavioural conditions read (their measures and member_of flags), for the
    -- evidence of an exit
    {%- set member_targets = [] %}
    {%- for segment in segment_definitions() %}
        {%- for target in segment.member_of if target not in member_targets %}{% do member_targets.append(target) %}{% endfor %}
    {%- endfor %}
    member_flags as (
        {{ segment_member_flags_select('int_segment_rules_evaluated', member_targets) }}
    ),

    condition_evidence as (
        select
            int_customer_profiles.customer_id
            {%- for column in segment_condition_columns() %},
            int_segment_condition_values.{{ column }}
            {%- endfor %}
            {%- for target in member_targets %},
            member_flags.{{ segment_member_flag_column(target) }}
            {%- endfor %}
        from int_customer_profiles
        left join int_segment_condition_values
            on int_customer_profiles.customer_id = int_segment_condition_values.customer_id
        left join member_flags
            on int_customer_profiles.customer_id = member_flags.customer_id
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
                when int_customers_erased.customer_id is not null then 'erasure'
                when int_customer_profiles.customer_id is null then 'customer_removed'
                when registry_segments.segment_key is null
                    or int_segment_definitions_this_run.latest_status != 'active' then 'segment_archived'
                when int_segment_definitions_this_run.previous_rule_hash != int_segment_definitions_this_run.latest_rule_hash
                    then 'rule_changed'
                when open_spells.membership_state = 'primary' and state_flags.is_member then 'outranked'
                when open_spells.membership_state = 'consent_blocked' and state_flags.is_member then 'consent_granted'
                when open_spells.membership_state != 'consent_blocked' and state_flags.is_consent_blocked
                    then 'consent_withdrawn'
                when int_segment_rules_evaluated.is_profile_too_incomplete then 'profile_incomplete'
                else 'rule_unmatched'
            end as exit_reason,
            open_spells.entry_rule_hash,
            case when int_customers_erased.customer_id is null then open_spells.entry_evidence end as entry_evidence,
            case
                when int_customer_profiles.customer_id is not null
                    then {{ segment_evidence_case('open_spells.segment_key', 'int_customer_profiles', 'condition_evidence') }}
            end as exit_evidence
        from open_spells
        left join int_segment_membership_states as current_states
            on open_spells.customer_id = current_states.customer_id
                and open_spells.segment_key = current_states.segment_key
                and open_spells.membership_state = current_states.membership_state
        left join state_flags
            on open_spells.customer_id = state_flags.customer_id
                and open_spells.segment_key = state_flags.segment_key
        left join int_customers_erased
            on open_spells.customer_id = int_customers_erased.customer_id
        left join int_customer_profiles
            on open_spells.customer_id = int_customer_profiles.customer_id
        left join condition_evidence
            on open_spells.customer_id = condition_evidence.customer_id
        left join registry_segments
            on open_spells.segment_key = registry_segments.segment_key
        left join int_segment_definitions_this_run
            on open_spells.segment_key = int_segment_definitions_this_run.segment_key
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
                when int_segment_definitions_this_run.previous_status is null
                    or int_segment_definitions_this_run.previous_status != 'active' then 'segment_activated'
                when int_segment_definitions_this_run.previous_rule_hash != int_segment_definitions_this_run.latest_rule_hash
                    then 'rule_changed'
                when current_states.membership_state = 'primary' and state_flags.was_member then 'no_longer_outranked'
                when current_states.membership_state != 'consent_blocked' and state_flags.was_consent_blocked
                    then 'consent_granted'
                when current_states.membership_state = 'consent_blocked' and state_flags.was_member
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
        left join state_flags
            on current_states.customer_id = state_flags.customer_id
                and current_states.segment_key = state_flags.segment_key
        left join int_segment_definitions_this_run
            on current_states.segment_key = int_segment_definitions_this_run.segment_key
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
        inner join int_customers_erased
            on recorded_spells.customer_id = int_customers_erased.customer_id
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
