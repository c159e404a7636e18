{#- Helpers for customer-level incremental models that follow identity changes. Such a
    model stamps its rows with built_at (build_started_at()); the rows of
    `int_identifier_customer_changes` recorded after the newest stamp are the identity
    changes it has not applied yet. -#}

{#- The newest build that wrote rows to this model, read inside a select from {{ this }}. -#}
{% macro customer_changes_applied_through() -%}
    {{ mark_or_beginning('max(built_at)') }}
{%- endmacro %}

{#- The rows of `int_identifier_customer_changes` for the given identifier types recorded
    after `high_water_mark.built_through` (a CTE the calling model defines): the moves the
    model has not applied yet. The model keeps them as the CTE `unapplied_identity_changes`. -#}
{% macro unapplied_identity_changes(identifier_types) -%}
    select
        reassigned.identifier_type,
        reassigned.identifier_value,
        reassigned.customer_id,
        reassigned.previous_customer_id
    from {{ ref('int_identifier_customer_changes') }} as reassigned
    cross join high_water_mark
    where reassigned.changed_at > high_water_mark.built_through
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
