{#- Why a run's results may not be published (empty when they may): only a `dbt build`
    that ran its data tests, built a serving model, and in which every node passed. -#}
{% macro serving_publish_blocker(results) %}
    {%- set arguments = invocation_args_dict -%}
    {%- set command = arguments.get('which') -%}
    {%- if command != 'build' -%}
        {{ return('only `dbt build` publishes (it runs the data tests); this was `dbt ' ~ command ~ '`') }}
    {%- endif -%}
    {%- if arguments.get('empty') or arguments.get('sample') -%}
        {{ return('an --empty or --sample build holds no complete data') }}
    {%- endif -%}
    {%- set excluded = arguments.get('exclude_resource_types') or [] -%}
    {%- set included = arguments.get('resource_types') or [] -%}
    {%- if 'test' in excluded or (included and 'test' not in included) -%}
        {{ return('the data tests were excluded') }}
    {%- endif -%}
    {%- set not_passed = [] -%}
    {%- set serving_built = [] -%}
    {%- for result in results -%}
        {%- if result.status not in ('success', 'pass', 'warn', 'no-op') -%}
            {%- do not_passed.append(result.node.name ~ ' (' ~ result.status ~ ')') -%}
        {%- elif result.node.resource_type == 'model'
            and result.node.schema in var('serving_schemas', ['marts']) -%}
            {%- do serving_built.append(result.node.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not_passed -%}
        {{ return(not_passed | length ~ ' node(s) did not pass, first ' ~ not_passed[0]
                  ~ '; analysts keep the last published data') }}
    {%- endif -%}
    {%- if not serving_built -%}
        {{ return('this build built no model of the serving schemas') }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}
