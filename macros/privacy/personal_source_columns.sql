{#- The landed columns of a source table that hold personal data (`crm.contacts` ->
    first_name, last_name, email, phone, birth_date): the `meta` of this macro, declared in
    macros/privacy/_privacy__macros.yml, by `<source>.<table>`. Quarantine records and
    nulled-attribute values redact them (`redacted_raw_value`). A macro's own properties
    are there wherever macros run, unit tests included (the project graph, and so a source
    column's `contains_pii` tag, is empty in a unit test); the structure check keeps this
    list and the tags of the sources' YAML the same (rule personal_data_unredacted). -#}
{% macro personal_source_columns(source_table) -%}
    {{ return((personal_source_columns.macro.meta or {}).get(source_table, [])) }}
{%- endmacro %}
