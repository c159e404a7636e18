{#-
    One row per identifier with at least one stitching neighbour: how many identifiers the
    stitching edges link it to, and a fingerprint of their set, from the edges' text. An
    incremental run of int_identifiers_resolved_to_customers compares them with the
    stored rows, which the labelling computed from node numbers (the same values).
-#}

with

int_identity_edges as (
    select * from {{ ref('int_identity_edges') }}
),

-- The stitching edges as text, once per pair however many sources link it (the
-- fingerprint needs distinct neighbours). An edge touching a blocked identifier is
-- dropped, so both ends of every pair are unblocked.
stitching_pairs as (
    select distinct
        identifier_type,
        identifier_value,
        linked_identifier_type,
        linked_identifier_value
    from int_identity_edges
    where not is_dropped
),

directed_pairs as (
    select
        identifier_type,
        identifier_value,
        linked_identifier_type,
        linked_identifier_value
    from stitching_pairs

    union all

    select
        linked_identifier_type as identifier_type,
        linked_identifier_value as identifier_value,
        identifier_type as linked_identifier_type,
        identifier_value as linked_identifier_value
    from stitching_pairs
),

neighbourhoods as (
    select
        identifier_type,
        identifier_value,
        count(*) as neighbour_count,
        {{ set_fingerprint(key_hash(['linked_identifier_type', 'linked_identifier_value'])) }}
            as neighbour_fingerprint
    from directed_pairs
    group by
        identifier_type,
        identifier_value
)

select * from neighbourhoods
