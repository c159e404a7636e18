{#-
    One row per identifier of the identity graph (a node): when it was first seen at or
    before as_of, whether it is blocked, and whether it is person-level. What identity
    resolution labels (the unblocked ones) and, with int_identifier_neighbourhoods, what
    an incremental run compares with the stored labels.
-#}

with

-- Read twice below (each side of a pair), two columns each time: inlined, not held whole.
int_identity_observations as {{ not_materialized() }} (
    select * from {{ ref('int_identity_observations') }}
),

int_identity_blocked_identifiers as (
    select * from {{ ref('int_identity_blocked_identifiers') }}
),

observed_identifiers as (
    select
        identifier_type,
        identifier_value,
        first_seen_at
    from int_identity_observations

    union all

    select
        linked_identifier_type as identifier_type,
        linked_identifier_value as identifier_value,
        first_seen_at
    from int_identity_observations
    where linked_identifier_value is not null
),

identifiers as (
    select
        identifier_type,
        identifier_value,
        min(first_seen_at) as first_seen_at
    from observed_identifiers
    group by
        identifier_type,
        identifier_value
),

final as (
    select
        identifiers.identifier_type,
        identifiers.identifier_value,
        identifiers.first_seen_at,
        int_identity_blocked_identifiers.identifier_value is not null as is_blocked,
        identifiers.identifier_type in ({{ identity_person_level_types() }}) as is_person_level
    from identifiers
    left join int_identity_blocked_identifiers
        on identifiers.identifier_type = int_identity_blocked_identifiers.identifier_type
            and identifiers.identifier_value = int_identity_blocked_identifiers.identifier_value
)

select * from final
