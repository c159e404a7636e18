{#- Retention: a post-hook that deletes the model's rows older than its source's retention
    (var `retention_days`, days per source; a source without a value is kept) before the
    build's as_of day, and logs the purge in privacy.retention_purges. On a base model
    (`raw_table`: the name of the source table it reads) it deletes the same rows from the
    raw table too, matched by landing file and row number, and records them in the
    loader's ledger (raw.ingestion_ledger, status `purged`, one row per file), so the row
    accounting stays exact; a quarantined row's own time is not trusted there (it may be
    the reason it was quarantined), so it expires by the time it was loaded. A row whose
    time is null is kept. -#}
{% macro purge_expired_rows(retention_source, time_column, raw_table=none) %}
    {%- set days = (var('retention_days', {}) or {}).get(retention_source) -%}
    {%- if days is none or not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set cutoff_day = modules.datetime.datetime.strptime(as_of_date_string(), '%Y-%m-%d')
        - modules.datetime.timedelta(days=days | int) -%}
    {%- set cutoff = "cast('" ~ cutoff_day.strftime('%Y-%m-%d') ~ " 00:00:00' as " ~ dbt.type_timestamp() ~ ")" -%}
    {%- if raw_table is none -%}
        {%- set row_time = 'expired_rows.' ~ time_column -%}
    {%- else -%}
        {%- set row_time = 'case when expired_rows.quarantine_reason is null then expired_rows.' ~ time_column
            ~ ' else expired_rows._loaded_at end' -%}
    {%- endif -%}
    create schema if not exists privacy;
    create table if not exists privacy.retention_purges (
        purged_at {{ dbt.type_timestamp() }},
        relation {{ dbt.type_string() }},
        retention_source {{ dbt.type_string() }},
        retention_days {{ dbt.type_int() }},
        purged_before {{ dbt.type_timestamp() }},
        rows_purged {{ dbt.type_bigint() }}
    );
    {% if raw_table is not none -%}
    {%- set raw = source(retention_source, raw_table) -%}
    insert into raw.ingestion_ledger (
        source, table_name, file_path, checksum, file_bytes, row_count, status, error_message, added_columns, loaded_at
    )
    select
        '{{ retention_source }}',
        '{{ raw_table }}',
        expired_rows._source_file,
        '',
        null,
        count(*),
        'purged',
        'older than the {{ retention_source }} retention of {{ days }} days (privacy.retention_purges)',
        null,
        {{ build_started_at() }}
    from {{ this }} as expired_rows
    where {{ row_time }} < {{ cutoff }}
        and exists (
            select 1 from {{ raw }} as raw_rows
            where raw_rows._source_file = expired_rows._source_file
                and raw_rows._file_row_number = expired_rows._file_row_number
        )
    group by expired_rows._source_file;
    insert into privacy.retention_purges
    select {{ build_started_at() }}, '{{ raw }}', '{{ retention_source }}', {{ days }}, {{ cutoff }}, count(*)
    from {{ raw }} as raw_rows
    where exists (
        select 1 from {{ this }} as expired_rows
        where {{ row_time }} < {{ cutoff }}
            and expired_rows._source_file = raw_rows._source_file
            and expired_rows._file_row_number = raw_rows._file_row_number
    )
    having count(*) > 0;
    delete from {{ raw }} as raw_rows
    where exists (
        select 1 from {{ this }} as expired_rows
        where {{ row_time }} < {{ cutoff }}
            and expired_rows._source_file = raw_rows._source_file
            and expired_rows._file_row_number = raw_rows._file_row_number
    );
    {% endif -%}
    insert into privacy.retention_purges
    select {{ build_started_at() }}, '{{ this }}', '{{ retention_source }}', {{ days }}, {{ cutoff }}, count(*)
    from {{ this }} as expired_rows
    where {{ row_time }} < {{ cutoff }}
    having count(*) > 0;
    delete from {{ this }} as expired_rows where {{ row_time }} < {{ cutoff }}
{% endmacro %}
