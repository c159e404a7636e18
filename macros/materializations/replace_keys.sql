{#- Incremental strategy `replace_keys`: deletes every target row of each `unique_key`
    value in the batch, then inserts the batch rows except key-only rows. A model that
    recomputes whole keys (a customer's entire history) adds one key-only row per
    recomputed key, with the column named by config `key_only_when_null` left null, so a
    key with nothing left (a customer whose identifiers moved away) loses its old rows too.
    Configure `unique_key` (one column) and `key_only_when_null`. -#}
{% macro get_incremental_replace_keys_sql(arg_dict) -%}
    {{ return(adapter.dispatch('replace_keys_sql', 'dynamic_segments')(arg_dict)) }}
{%- endmacro %}

{% macro default__replace_keys_sql(arg_dict) -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- if key is not string -%}
        {{ exceptions.raise_compiler_error(
            "replace_keys needs one unique_key column, got: " ~ key
        ) }}
    {%- endif -%}
    {%- set key_only_when_null = config.require('key_only_when_null') -%}
    {%- set dest_columns_csv = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ key }} in (
        select batch_rows.{{ key }}
        from {{ arg_dict['temp_relation'] }} as batch_rows
    );

    insert into {{ arg_dict['target_relation'] }} ({{ dest_columns_csv }})
    select {{ dest_columns_csv }}
    from {{ arg_dict['temp_relation'] }}
    where {{ key_only_when_null }} is not null
{%- endmacro %}
