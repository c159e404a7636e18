-- One row per merge: a stitching edge (not dropped) that joined two identifiers into the
-- same customer, with the evidence source, when it was first seen and the customer.
-- Analysts read it to explain why two identifiers are one person.
with

int_identity_edges as (
    select * from {{ ref('int_identity_edges') }}
),

int_identifiers_resolved_to_customers as (
    select * from {{ ref('int_identifiers_resolved_to_customers') }}
),

stitching_edges as (
    select *
    from int_identity_edges
    where not is_dropped
),

final as (
    select
        stitching_edges.edge_id,
        int_identifiers_resolved_to_customers.customer_id,
        stitching_edges.identifier_type,
        stitching_edges.identifier_value,
        stitching_edges.linked_identifier_type,
        stitching_edges.linked_identifier_value,
        stitching_edges.edge_source,
        stitching_edges.first_seen_at,
        stitching_edges.last_seen_at,
        stitching_edges.evidence_count
    from stitching_edges
    inner join int_identifiers_resolved_to_customers
        on stitching_edges.identifier_type = int_identifiers_resolved_to_customers.identifier_type
            and stitching_edges.identifier_value = int_identifiers_resolved_to_customers.identifier_value
)

select * from final
