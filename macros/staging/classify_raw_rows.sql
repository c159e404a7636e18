{#- Emits the `classified` CTE of a base model: every row of `validated_cte` with its
    `row_disposition`:
      - 'quarantined' when it has a quarantine_reason;
      - 'duplicate' when a usable row with the same natural key was delivered before
        (an earlier load already staged it, or an earlier row of this batch by load time,
        file and position);
      - 'staged' otherwise.
    On an incremental run only rows loaded after the newest row already in the model
    are classified, against the keys the model already staged, which gives exactly the
    dispositions a full refresh gives because loads are appended in `_loaded_at` order.
    Only staged keys that occur in the new batch are read back, so the lookup is built
    from the batch and its size follows the batch, not the table.
    `raw_record` is kept for quarantined rows only. -#}
{% macro classify_raw_rows(validated_cte, natural_key) -%}
{%- set incremental = is_incremental() -%}
{%- if incremental %}
previously_staged as (
    select distinct
        {%- for column in natural_key %}
        {{ column }} as previously_staged_{{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ this }}
    where row_disposition = 'staged'
        and {{ natural_key[0] }} in (select {{ natural_key[0] }} from {{ validated_cte }})
),
{% endif %}
classified as (
    select
        {{ validated_cte }}.*,
        case
            when {{ validated_cte }}.quarantine_reason is not null then 'quarantined'
            {%- if incremental %}
            when previously_staged.previously_staged_{{ natural_key[0] }} is not null then 'duplicate'
            {%- endif %}
            when row_number() over (
                partition by
                    {{ validated_cte }}.quarantine_reason,
                    {%- for column in natural_key %}
                    {{ validated_cte }}.{{ column }}{{ "," if not loop.last }}
                    {%- endfor %}
                order by
                    {{ validated_cte }}._loaded_at,
                    {{ validated_cte }}._source_file,
                    {{ validated_cte }}._file_row_number
            ) = 1 then 'staged'
            else 'duplicate'
        end as row_disposition
    from {{ validated_cte }}
    {%- if incremental %}
    left join previously_staged
        on
        {%- for column in natural_key %}
        {{ "and " if not loop.first }}{{ validated_cte }}.{{ column }} = previously_staged.previously_staged_{{ column }}
        {%- endfor %}
    {%- endif %}
)
{%- endmacro %}

{#- The source filter of an incremental base model: only rows loaded after the newest
    row the model already holds. Empty on a full build. -#}
{% macro only_new_loads() -%}
    {%- if is_incremental() %}
    where _loaded_at > (
        select coalesce(max(_loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ this }}
    )
    {%- endif %}
{%- endmacro %}
