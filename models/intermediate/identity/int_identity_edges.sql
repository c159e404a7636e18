-- One row per distinct edge of the identity graph: a pair of identifiers and the source
-- whose evidence links them (web_login, shop_order, crm_contact), with when it was
-- first and last seen at or before as_of. An edge touching a blocked identifier is
-- kept for audit but dropped from stitching (is_dropped, drop_reason).
with

int_identity_observations as (
    select * from {{ ref('int_identity_observations') }}
),

int_identity_blocked_identifiers as (
    select * from {{ ref('int_identity_blocked_identifiers') }}
),

observed_pairs as (
    select
        identifier_type,
        identifier_value,
        linked_identifier_type,
        linked_identifier_value,
        evidence_source as edge_source,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        cast(sum(evidence_count) as {{ dbt.type_bigint() }}) as evidence_count
    from int_identity_observations
    where linked_identifier_value is not null
    group by
        identifier_type,
        identifier_value,
        linked_identifier_type,
        linked_identifier_value,
        evidence_source
),

flagged as (
    select
        observed_pairs.*,
        coalesce(left_block.block_reason, right_block.block_reason) as drop_reason
    from observed_pairs
    left join int_identity_blocked_identifiers as left_block
        on observed_pairs.identifier_type = left_block.identifier_type
            and observed_pairs.identifier_value = left_block.identifier_value
    left join int_identity_blocked_identifiers as right_block
        on observed_pairs.linked_identifier_type = right_block.identifier_type
            and observed_pairs.linked_identifier_value = right_block.identifier_value
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            'identifier_type', "':'", 'identifier_value', "'|'",
            'linked_identifier_type', "':'", 'linked_identifier_value', "'|'",
            'edge_source',
        ])) }} as edge_id,
        identifier_type,
        identifier_value,
        linked_identifier_type,
        linked_identifier_value,
        edge_source,
        first_seen_at,
        last_seen_at,
        evidence_count,
        drop_reason is not null as is_dropped,
        drop_reason
    from flagged
)

select * from final
