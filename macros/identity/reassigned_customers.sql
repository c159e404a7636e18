{#- Helpers for customer-level incremental models that follow identity changes. Such a
    model stamps its rows with built_at (build_started_at()); the rows of
    `int_identifier_customer_changes` recorded after the newest stamp are the identity
    changes it has not applied yet. -#}

{#- A high-water mark, or 1900-01-01 when the table has no row yet. -#}
{% macro mark_or_beginning(expression) -%}
    coalesce({{ expression }}, cast('1900-01-01' as {{ dbt.type_timestamp() }}))
{%- endmacro %}

{#- The newest build that wrote rows to this model, read inside a select from {{ this }}. -#}
{% macro customer_changes_applied_through() -%}
    {{ mark_or_beginning('max(built_at)') }}
{%- endmacro %}

{#- Previous and new customers of the identifiers of the given types that moved since
    high_water_mark.built_through: a select of customer_id. -#}
{% macro reassigned_customers(identifier_types) -%}
    select reassigned.customer_id
    from {{ ref('int_identifier_customer_changes') }} as reassigned
    cross join high_water_mark
    where reassigned.changed_at > high_water_mark.built_through
        and reassigned.customer_id is not null
        and reassigned.identifier_type in ({{ "'" ~ identifier_types | join("', '") ~ "'" }})

    union

    select reassigned.previous_customer_id as customer_id
    from {{ ref('int_identifier_customer_changes') }} as reassigned
    cross join high_water_mark
    where reassigned.changed_at > high_water_mark.built_through
        and reassigned.previous_customer_id is not null
        and reassigned.identifier_type in ({{ "'" ~ identifier_types | join("', '") ~ "'" }})
{%- endmacro %}
