{#- The behavioural event catalogue: the `families` mapping in the `meta` of this macro,
    declared in models/marts/segments/_segment_event_catalogue.yml (event names,
    properties with their types, per_key keys per event family). -#}
{% macro segment_event_catalogue() %}
    {%- set catalogue = segment_event_catalogue.macro.meta or {} -%}
    {{ return(catalogue.get('families') or {}) }}
{% endmacro %}
