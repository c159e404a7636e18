{#- Emits the CTEs that classify every row of `validated_cte`, ending in `classified`:
    each row with its `row_disposition`:
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
    Within the batch, delivery order is ranked only for the keys that occur more than
    once, and only over the key and the row's position; the later deliveries are joined
    back on that position. Ranking every row with all its columns held the whole batch in
    memory. The batch comes from `raw_rows_to_classify`, which flags the rows whose raw key
    text may repeat (`_has_repeated_raw_key`); the repeated keys and the ranking read only
    flagged rows, so the engine types and validates just those for them, not the batch.
    With a one-column key the flagged rows hold every row of a repeated key (the typed key
    is `clean_text` of the flagged text), so they are ranked without regrouping them: the
    ranking partitions on the typed key itself, so a row flagged only by a hash collision
    ranks first in its own partition and stays staged. A key of several columns is
    regrouped on all of them first.
    A raw row is identified by (_source_file, _file_row_number), since the loader loads
    each file once. Natural key columns are never null on a usable row: every base model
    quarantines a missing key.
    `validated_cte` is read three times, so declare it, and every CTE it reads, with the
    `not_materialized()` hint: the engine then recomputes the few columns each read
    needs instead of holding every column of the batch.
    `whole_keys=true` is for a model whose batch holds every delivery of each key it
    contains (`raw_rows_to_classify` with `keys_to_reclassify`): the batch is then ranked
    on its own, as on a full build, and replaces the model's rows of those deliveries. -#}
{% macro classify_raw_rows(validated_cte, natural_key, whole_keys=false) -%}
{%- set incremental = is_incremental() and not whole_keys -%}
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
{%- if natural_key | length > 1 %}
repeated_keys as (
    select
        {%- for column in natural_key %}
        {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ validated_cte }}
    where _has_repeated_raw_key
    group by
        {%- for column in natural_key %}
        {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    having count(*) > 1
),

{% endif -%}
repeated_deliveries_ranked as (
    select
        {{ validated_cte }}._source_file,
        {{ validated_cte }}._file_row_number,
        row_number() over (
            partition by
                {%- for column in natural_key %}
                {{ validated_cte }}.{{ column }}{{ "," if not loop.last }}
                {%- endfor %}
            order by
                {{ validated_cte }}._loaded_at,
                {{ validated_cte }}._source_file,
                {{ validated_cte }}._file_row_number
        ) as delivery_number
    from {{ validated_cte }}
    {%- if natural_key | length > 1 %}
    inner join repeated_keys
        on
        {%- for column in natural_key %}
        {{ "and " if not loop.first }}{{ validated_cte }}.{{ column }} = repeated_keys.{{ column }}
        {%- endfor %}
    {%- endif %}
    where {{ validated_cte }}._has_repeated_raw_key
        and {{ validated_cte }}.quarantine_reason is null
),

later_deliveries as (
    select
        _source_file,
        _file_row_number
    from repeated_deliveries_ranked
    where delivery_number > 1
),

classified as (
    select
        {{ validated_cte }}.*,
        case
            when {{ validated_cte }}.quarantine_reason is not null then 'quarantined'
            {%- if incremental %}
            when previously_staged.previously_staged_{{ natural_key[0] }} is not null then 'duplicate'
            {%- endif %}
            when later_deliveries._file_row_number is not null then 'duplicate'
            else 'staged'
        end as row_disposition
    from {{ validated_cte }}
    {%- if incremental %}
    left join previously_staged
        on
        {%- for column in natural_key %}
        {{ "and " if not loop.first }}{{ validated_cte }}.{{ column }} = previously_staged.previously_staged_{{ column }}
        {%- endfor %}
    {%- endif %}
    left join later_deliveries
        on {{ validated_cte }}._source_file = later_deliveries._source_file
            and {{ validated_cte }}._file_row_number = later_deliveries._file_row_number
)
{%- endmacro %}

{#- Emits the CTEs `repeated_raw_keys` and `source` that open a base model: the raw rows
    of `relation` to classify (on an incremental run only the loads after the model's
    newest row), each with `_has_repeated_raw_key`, true when the `key_hash` of the
    trimmed text of its first natural-key column occurs more than once among them. Only
    such a row can be a later delivery, so `classify_raw_rows` looks for deliveries among
    flagged rows alone. Equal keys always hash alike, so every row of a repeated key is
    flagged; a hash collision only flags a few rows more, which the ranking, on the key
    itself, leaves staged. Grouping and joining on the 64-bit hash is cheaper than on the
    text of event-sized keys (measured in BENCHMARKS.md).
    The flag is computed from the raw text, before typing: the engine filters the batch
    down to the flagged rows first and types only those for the delivery ranking, where
    a filter on a typed column would type every row of the batch once more.
    The model's typed CTE passes `_has_repeated_raw_key` through, and its typed key must
    be `clean_text` of `first_key_column`, so equal typed keys always have equal key hashes
    and are flagged together (`unique_across_loads` on the staged model guards the result).
    The join reads the key column unqualified: `repeated_raw_keys` has no column but the
    hash, so the one hash expression serves both the grouping and the join.
    `repeated_raw_keys` holds the repeated key hashes only and is read by every read of
    `source`; DuckDB materialises a CTE read more than once, so it is aggregated once.
    `keys_to_reclassify`, a select of one column `raw_key` (`clean_text` of the first
    key column), names keys whose earlier deliveries must be classified again: their
    disposition depends on rows of another model that may arrive later (order lines on
    their order header). On an incremental run the batch (CTE `batch_raw_rows`, over the
    keys of CTE `reclassified_keys`) then holds every delivery of those keys and of the
    keys in the new loads, besides the new loads themselves, and the model classifies it
    with `classify_raw_rows(..., whole_keys=true)`. -#}
{% macro raw_rows_to_classify(relation, first_key_column, keys_to_reclassify=none) -%}
{#- The source filter of an incremental run: only rows loaded after the newest row the
    model already holds (a literal from `high_water_marks`, read once per run). Empty on a
    full build. -#}
{%- set only_new_loads = '' -%}
{%- if is_incremental() -%}
    {%- set only_new_loads = '\n    where _loaded_at > ' ~ high_water_marks({'loaded_through': 'max(_loaded_at)'}).loaded_through -%}
{%- endif -%}
{%- set whole_keys = keys_to_reclassify is not none and is_incremental() -%}
{%- set raw_rows = 'batch_raw_rows' if whole_keys else relation -%}
{%- if whole_keys %}
reclassified_keys as (
    select {{ clean_text(first_key_column) }} as raw_key
    from {{ relation }}
    {{- only_new_loads }}

    union

    {{ keys_to_reclassify }}
),

-- a small batch, read twice below: held once instead of filtering the raw table twice
batch_raw_rows as (
    select *
    from {{ relation }}
    {{- only_new_loads }}
        or {{ clean_text(first_key_column) }} in (select reclassified_keys.raw_key from reclassified_keys)
),
{% endif %}
{%- set raw_key_hash = key_hash([clean_text(first_key_column)]) %}
repeated_raw_keys as (
    select {{ raw_key_hash }} as raw_key_hash
    from {{ raw_rows }}
    {{- only_new_loads if not whole_keys }}
    group by {{ raw_key_hash }}
    having count(*) > 1
),

source as {{ not_materialized() }} (
    select
        raw_rows.*,
        repeated_raw_keys.raw_key_hash is not null as _has_repeated_raw_key
    from {{ raw_rows }} as raw_rows
    left join repeated_raw_keys
        on {{ raw_key_hash }} = repeated_raw_keys.raw_key_hash
    {{- only_new_loads if not whole_keys }}
)
{%- endmacro %}
