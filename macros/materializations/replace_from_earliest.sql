{#- Incremental strategy `replace_from_earliest`: for each key in the batch, deletes the
    target's rows of that key whose `replace_from` column is at or after the batch's
    earliest value for the key, then inserts the batch. It suits a model that recomputes
    each touched key only from a restart point, such as a visitor's sessions from the
    first one a new event can reach: the key's older rows stay where they are instead of
    being read back and rewritten. Configure `unique_key` (one column) and `replace_from`. -#}
{% macro get_incremental_replace_from_earliest_sql(arg_dict) -%}
    {{ return(adapter.dispatch('replace_from_earliest_sql', 'dynamic_segments')(arg_dict)) }}
{%- endmacro %}

{% macro default__replace_from_earliest_sql(arg_dict) -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- if key is not string -%}
        {{ exceptions.raise_compiler_error(
            "replace_from_earliest needs one unique_key column, got: " ~ key
        ) }}
    {%- endif -%}
    {%- set replace_from = config.require('replace_from') -%}
    {%- set dest_columns_csv = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }} as existing_rows
    where exists (
        select 1
        from {{ arg_dict['temp_relation'] }} as batch_rows
        where batch_rows.{{ key }} = existing_rows.{{ key }}
            and batch_rows.{{ replace_from }} <= existing_rows.{{ replace_from }}
    );

    insert into {{ arg_dict['target_relation'] }} ({{ dest_columns_csv }})
    select {{ dest_columns_csv }}
    from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
