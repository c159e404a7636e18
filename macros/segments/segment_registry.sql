{#- The segments of the segment registry, as written: the `segments` list in the `meta` of
    this macro, declared in models/marts/segments/_segment_registry.yml. Reading it from the
    macro's own properties works wherever macros run: models, run-operations and unit tests
    (which compile without the project graph). -#}
{% macro segment_registry() %}
    {%- set registry = segment_registry.macro.meta or {} -%}
    {{ return(registry.get('segments') or []) }}
{% endmacro %}
