{#- Maps the spellings upstream systems use for booleans; anything else becomes null. -#}
{% macro parse_boolean(field) -%}
    case
        when lower(trim({{ field }})) in ('true', 't', 'yes', 'y', '1') then true
        when lower(trim({{ field }})) in ('false', 'f', 'no', 'n', '0') then false
    end
{%- endmacro %}
