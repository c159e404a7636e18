-- One row per identifier that belongs to a customer, with the customer's stable id.
-- A customer is a connected component of the identity graph (stitching edges only, no
-- blocked identifier) that holds at least one person-level identifier; a device seen
-- only anonymously is not a customer.
-- Components are found by min-label propagation over node keys ordered by type
-- precedence then value (see identity_identifier_key), unrolled into
-- identity_label_propagation_rounds rounds, each a neighbour step plus a pointer jump.
-- Identifiers with one neighbour (most anonymous devices, many contacts) are left out
-- of the rounds and take their neighbour's label afterwards, which keeps the rounds
-- small. The representative is the smallest key of the component, and
-- customer_id = 'cus_' || hash('<type>:<value>') of the representative, so the same
-- evidence always yields the same ids.
{%- set rounds = var('identity_label_propagation_rounds', 8) | int %}
with

int_identity_observations as (
    select * from {{ ref('int_identity_observations') }}
),

int_identity_edges as (
    select * from {{ ref('int_identity_edges') }}
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

unblocked_identifiers as (
    select
        identifiers.identifier_type,
        identifiers.identifier_value,
        identifiers.first_seen_at,
        {{ identity_identifier_key('identifiers.identifier_type', 'identifiers.identifier_value') }} as identifier_key
    from identifiers
    left join int_identity_blocked_identifiers
        on identifiers.identifier_type = int_identity_blocked_identifiers.identifier_type
        and identifiers.identifier_value = int_identity_blocked_identifiers.identifier_value
    where int_identity_blocked_identifiers.identifier_value is null
),

stitching_edges as (
    select distinct
        {{ identity_identifier_key('identifier_type', 'identifier_value') }} as identifier_key,
        {{ identity_identifier_key('linked_identifier_type', 'linked_identifier_value') }} as linked_identifier_key
    from int_identity_edges
    where not is_dropped
),

directed_edges as (
    select
        identifier_key,
        linked_identifier_key
    from stitching_edges

    union all

    select
        linked_identifier_key as identifier_key,
        identifier_key as linked_identifier_key
    from stitching_edges
),

node_degrees as (
    select
        identifier_key,
        count(*) as degree
    from directed_edges
    group by identifier_key
),

core_edges as (
    select
        directed_edges.identifier_key,
        directed_edges.linked_identifier_key
    from directed_edges
    inner join node_degrees as own_degree
        on directed_edges.identifier_key = own_degree.identifier_key
    inner join node_degrees as linked_degree
        on directed_edges.linked_identifier_key = linked_degree.identifier_key
    where own_degree.degree > 1
        and linked_degree.degree > 1
),

labels_round_0 as (
    select
        identifier_key,
        least(identifier_key, min(linked_identifier_key)) as label
    from core_edges
    group by identifier_key
),

{% for round_number in range(1, rounds + 1) %}
{%- set previous = 'labels_round_' ~ (round_number - 1) %}
neighbour_labels_round_{{ round_number }} as (
    select
        core_edges.identifier_key,
        min({{ previous }}.label) as label
    from core_edges
    inner join {{ previous }}
        on core_edges.linked_identifier_key = {{ previous }}.identifier_key
    group by core_edges.identifier_key
),

propagated_round_{{ round_number }} as (
    select
        {{ previous }}.identifier_key,
        least({{ previous }}.label, neighbour_labels_round_{{ round_number }}.label) as label
    from {{ previous }}
    inner join neighbour_labels_round_{{ round_number }}
        on {{ previous }}.identifier_key = neighbour_labels_round_{{ round_number }}.identifier_key
),

labels_round_{{ round_number }} as (
    select
        propagated_round_{{ round_number }}.identifier_key,
        least(propagated_round_{{ round_number }}.label, label_owner.label) as label
    from propagated_round_{{ round_number }}
    inner join propagated_round_{{ round_number }} as label_owner
        on propagated_round_{{ round_number }}.label = label_owner.identifier_key
),

{% endfor %}
core_base_labels as (
    select
        node_degrees.identifier_key,
        coalesce(labels_round_{{ rounds }}.label, node_degrees.identifier_key) as base_label
    from node_degrees
    left join labels_round_{{ rounds }}
        on node_degrees.identifier_key = labels_round_{{ rounds }}.identifier_key
    where node_degrees.degree > 1
),

leaf_base_labels as (
    select
        directed_edges.identifier_key,
        coalesce(
            core_base_labels.base_label,
            least(directed_edges.identifier_key, directed_edges.linked_identifier_key)
        ) as base_label
    from directed_edges
    inner join node_degrees
        on directed_edges.identifier_key = node_degrees.identifier_key
    left join core_base_labels
        on directed_edges.linked_identifier_key = core_base_labels.identifier_key
    where node_degrees.degree = 1
),

base_labels as (
    select * from core_base_labels
    union all
    select * from leaf_base_labels
),

component_labels as (
    select
        base_label,
        min(identifier_key) as component_label
    from base_labels
    group by base_label
),

node_labels as (
    select
        base_labels.identifier_key,
        component_labels.component_label
    from base_labels
    inner join component_labels
        on base_labels.base_label = component_labels.base_label
),

labelled_identifiers as (
    select
        unblocked_identifiers.identifier_type,
        unblocked_identifiers.identifier_value,
        unblocked_identifiers.first_seen_at,
        unblocked_identifiers.identifier_key,
        coalesce(node_labels.component_label, unblocked_identifiers.identifier_key) as component_label
    from unblocked_identifiers
    left join node_labels
        on unblocked_identifiers.identifier_key = node_labels.identifier_key
),

representatives as (
    select
        component_label,
        identifier_type as representative_type,
        {{ dbt.concat(["'cus_'", dbt.hash(dbt.concat(['identifier_type', "':'", 'identifier_value']))]) }} as customer_id
    from labelled_identifiers
    where identifier_key = component_label
),

final as (
    select
        labelled_identifiers.identifier_type,
        labelled_identifiers.identifier_value,
        representatives.customer_id,
        labelled_identifiers.identifier_key = labelled_identifiers.component_label as is_representative,
        labelled_identifiers.first_seen_at
    from labelled_identifiers
    inner join representatives
        on labelled_identifiers.component_label = representatives.component_label
    where representatives.representative_type <> 'anonymous_id'
)

select * from final
