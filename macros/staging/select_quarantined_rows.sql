{#- Selects the quarantined rows of one base model in the shape every
    `stg_<source>__quarantined_rows` model shares, so sources can be unioned. -#}
{% macro select_quarantined_rows(base_model, source_table, key_columns) -%}
    {%- set key_parts = [] -%}
    {%- for column in key_columns -%}
        {%- do key_parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '<null>')") -%}
        {%- if not loop.last -%}{%- do key_parts.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    select
        cast('{{ source_table }}' as {{ dbt.type_string() }}) as source_table,
        {{ dbt.concat(key_parts) if key_parts | length > 1 else key_parts[0] }} as record_key,
        quarantine_reason,
        raw_record,
        _source_file as source_file,
        _file_row_number as file_row_number,
        _loaded_at as loaded_at
    from {{ ref(base_model) }}
    where row_disposition = 'quarantined'
{%- endmacro %}
