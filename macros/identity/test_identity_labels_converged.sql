{#- Proves the connected-component labelling converged: fails with every stitching
    edge (not dropped) whose two identifiers resolve to different customers, or where
    only one of them resolves. Attached to the edge model; `resolved_model` maps
    (identifier_type, identifier_value) to customer_id. -#}
{% test identity_labels_converged(model, resolved_model, dropped_column='is_dropped') %}
with

stitching_edges as (
    select *
    from {{ model }}
    where not {{ dropped_column }}
),

resolved as (
    select * from {{ resolved_model }}
),

edge_customers as (
    select
        stitching_edges.identifier_type,
        stitching_edges.identifier_value,
        stitching_edges.linked_identifier_type,
        stitching_edges.linked_identifier_value,
        left_side.customer_id as customer_id,
        right_side.customer_id as linked_customer_id
    from stitching_edges
    left join resolved as left_side
        on stitching_edges.identifier_type = left_side.identifier_type
        and stitching_edges.identifier_value = left_side.identifier_value
    left join resolved as right_side
        on stitching_edges.linked_identifier_type = right_side.identifier_type
        and stitching_edges.linked_identifier_value = right_side.identifier_value
)

select *
from edge_customers
where customer_id <> linked_customer_id
    or (customer_id is null and linked_customer_id is not null)
    or (customer_id is not null and linked_customer_id is null)
{% endtest %}
