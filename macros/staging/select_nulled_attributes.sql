{#- Selects, from one base model, one row per staged raw row per optional attribute it
    nulled as implausible, with the landed text and the reason, in the shape every
    `stg_<source>__nulled_attributes` model shares. The base model carries, for each such
    attribute, `<attribute>_null_reason` and `<attribute>_nulled_raw`. -#}
{% macro select_nulled_attributes(base_model, source_table, key_columns, attributes) -%}
    {%- set key_parts = [] -%}
    {%- for column in key_columns -%}
        {%- do key_parts.append("cast(" ~ column ~ " as " ~ dbt.type_string() ~ ")") -%}
        {%- if not loop.last -%}{%- do key_parts.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    {%- for attribute in attributes %}
    select
        cast('{{ source_table }}' as {{ dbt.type_string() }}) as source_table,
        {{ dbt.concat(key_parts) if key_parts | length > 1 else key_parts[0] }} as record_key,
        cast('{{ attribute }}' as {{ dbt.type_string() }}) as attribute_name,
        {{ attribute }}_nulled_raw as raw_value,
        {{ attribute }}_null_reason as null_reason,
        _source_file as source_file,
        _file_row_number as file_row_number,
        _loaded_at as loaded_at
    from {{ ref(base_model) }}
    where row_disposition = 'staged'
        and {{ attribute }}_null_reason is not null
    {%- if not loop.last %}

    union all
    {% endif -%}
    {%- endfor %}
{%- endmacro %}
