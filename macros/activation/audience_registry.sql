{#- The audience registry, as written: the `audiences` and `destinations` lists in the
    `meta` of this macro, declared in models/marts/activation/_audience_registry.yml
    (validated by scripts/audience_registry.py, `make registry`, and before it is read here
    by validate_audience_registry). Read from the macro's own properties, so it works in
    models and unit tests alike. `part` is 'audiences' or 'destinations'. -#}
{% macro audience_registry(part) %}
    {%- if part not in ('audiences', 'destinations') -%}
        {{ exceptions.raise_compiler_error("audience_registry: part must be 'audiences' or 'destinations', got " ~ part) }}
    {%- endif -%}
    {%- do validate_audience_registry() -%}
    {%- set registry = audience_registry.macro.meta or {} -%}
    {{ return(registry.get(part) or []) }}
{% endmacro %}
