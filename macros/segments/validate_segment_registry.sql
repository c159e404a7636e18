{#- Stops compilation with one line per registry problem, worded by scripts/segment_registry.py
    (see segment_registry_verdict), and logs its warnings when log_warnings is true. The
    on-run-start hook calls it with warnings, so every dbt build or run checks the registry
    before any node runs; every segments model calls it again through segment_definitions(),
    which also covers compiling and running one model alone. Also callable on its own:
    `dbt run-operation validate_segment_registry`. -#}
{% macro validate_segment_registry(log_warnings=false) %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set registry_macro = segment_registry.macro -%}
    {%- set registry_file = (registry_macro.patch_path or '').split('://')[-1] -%}
    {%- set project_dir = invocation_args_dict.get('project_dir') -%}
    {%- set rule_columns = segment_rule_columns() -%}
    {%- set verdict = segment_registry_verdict(
        (project_dir ~ '/' ~ registry_file) if project_dir and registry_file else registry_file,
        (registry_macro.meta or {}).get('segments'),
        rule_columns
    ) -%}
    {%- if verdict.problems | length > 0 -%}
        {{ exceptions.raise_compiler_error("The segment registry (models/marts/segments/_segment_registry.yml) is invalid:\n" ~ verdict.problems | join('\n')) }}
    {%- endif -%}
    {%- if log_warnings -%}
        {%- for warning in verdict.warnings -%}
            {%- do exceptions.warn("Segment registry (models/marts/segments/_segment_registry.yml) warning: " ~ warning) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}

