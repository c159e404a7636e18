{#- Helpers for customer-level incremental models that follow identity changes. Such a
    model stamps its rows with built_at (build_started_at()); the rows of
    `int_identifier_customer_changes` recorded after the newest stamp are the identity
    changes it has not applied yet. -#}

{#- The rows of `int_identifier_customer_changes` for the given identifier types recorded
    after `built_through`, the model's `max(built_at)` read by `high_water_marks`: the moves
    the model has not applied yet. The model keeps them as the CTE
    `unapplied_identity_changes`. -#}
{% macro unapplied_identity_changes(identifier_types, built_through) -%}
    select
        reassigned.identifier_type,
        reassigned.identifier_value,
        reassigned.customer_id,
        reassigned.previous_customer_id
    from {{ ref('int_identifier_customer_changes') }} as reassigned
    where reassigned.changed_at > {{ built_through }}
        and reassigned.identifier_type in ({{ "'" ~ identifier_types | join("', '") ~ "'" }})
{%- endmacro %}

{#- A select of customer_id: the previous and the new customers of the moves in the CTE
    `unapplied_identity_changes`. Both must be recomputed from all of their history. -#}
{% macro reassigned_customers() -%}
    select unapplied_identity_changes.customer_id
    from unapplied_identity_changes
    where unapplied_identity_changes.customer_id is not null

    union

    select unapplied_identity_changes.previous_customer_id as customer_id
    from unapplied_identity_changes
    where unapplied_identity_changes.previous_customer_id is not null
{%- endmacro %}
