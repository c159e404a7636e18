{#- The identifier types that name one person (as opposed to a device), as a quoted
    SQL list for `in (...)`: an identifier's link count counts only neighbours of
    these types. -#}
{% macro identity_person_level_types() -%}
    'contact_id', 'shop_customer_id', 'email'
{%- endmacro %}
