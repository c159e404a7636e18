{#- The experiment registry, as written: the `experiments` list and the `global_control`
    mapping in the `meta` of this macro, declared in
    models/marts/measurement/_experiment_registry.yml (validated by
    scripts/experiment_registry.py, `make registry`). Read from the macro's own
    properties, so it works in models and unit tests alike. -#}
{% macro experiment_registry(part) %}
    {%- set registry = experiment_registry.macro.meta or {} -%}
    {%- if part == 'experiments' -%}
        {{ return(registry.get('experiments') or []) }}
    {%- elif part == 'global_control' -%}
        {{ return(registry.get('global_control') or {'enabled': false, 'percent': 0}) }}
    {%- endif -%}
    {{ exceptions.raise_compiler_error("experiment_registry: part must be 'experiments' or 'global_control', got " ~ part) }}
{% endmacro %}
