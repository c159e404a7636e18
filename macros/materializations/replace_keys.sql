{#- Incremental strategy `replace_keys`: deletes every target row of each `unique_key`
    value in the batch, then inserts the batch rows except key-only rows. A model that
    recomputes whole keys (a customer's entire history) adds one key-only row per
    recomputed key, with the column named by config `key_only_when_null` left null, so a
    key with nothing left (a customer whose identifiers moved away) loses its old rows too.
    Configure `unique_key` (one column) and `key_only_when_null`.

    With config `replace_single_rows: true`, only a key with a key-only row in the batch
    is replaced whole; every other batch row replaces the target row with the same
    `unique_key` and `key_only_when_null` values. A model can then recompute some keys
    whole and only the changed rows of the others. -#}
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
    {%- if config.get('replace_single_rows', false) %}
    where {{ key }} in (
        select batch_rows.{{ key }}
        from {{ arg_dict['temp_relation'] }} as batch_rows
        where batch_rows.{{ key_only_when_null }} is null
    )
    or ({{ key }}, {{ key_only_when_null }}) in (
        select batch_rows.{{ key }}, batch_rows.{{ key_only_when_null }}
        from {{ arg_dict['temp_relation'] }} as batch_rows
        where batch_rows.{{ key_only_when_null }} is not null
    );
    {%- else %}
    where {{ key }} in (
        select batch_rows.{{ key }}
        from {{ arg_dict['temp_relation'] }} as batch_rows
    );
    {%- endif %}

    insert into {{ arg_dict['target_relation'] }} ({{ dest_columns_csv }})
    select {{ dest_columns_csv }}
    from {{ arg_dict['temp_relation'] }}
    where {{ key_only_when_null }} is not null
{%- endmacro %}
