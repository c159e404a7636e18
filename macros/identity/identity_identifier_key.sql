{#- Sortable key of an identifier graph node: the type's precedence digit, a bar, then the
    value. Ordering keys as text orders nodes by type precedence
    (contact_id < shop_customer_id < email < anonymous_id), then by value, so the
    smallest key of a connected component is its representative identifier. -#}
{% macro identity_identifier_key(identifier_type, identifier_value) -%}
    {{ dbt.concat([
        "case " ~ identifier_type
            ~ " when 'contact_id' then '1'"
            ~ " when 'shop_customer_id' then '2'"
            ~ " when 'email' then '3'"
            ~ " else '4' end",
        "'|'",
        identifier_value,
    ]) }}
{%- endmacro %}
