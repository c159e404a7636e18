{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='append_new_columns',
    )
}}
-- One row per segment per definition version: a new version is recorded whenever a build
-- sees a segment's membership condition (rule_hash) or status differ from its latest
-- version, stamped with the start of that build (recorded_at) so a later model of the same
-- build can tell the version it just recorded from the one the previous build used, even
-- when both builds share an as_of. Append-only history that survives across runs (full
-- refresh is disabled).

with

registry_rows as (
    {{ segment_catalog_rows() }}
),

{% if is_incremental() %}
    recorded_versions as (
        select * from {{ this }}
    ),

    latest_versions as (
        select
            segment_key,
            rule_hash,
            status,
            definition_version
        from recorded_versions
        where definition_version = (
            select max(same_segment.definition_version)
            from recorded_versions as same_segment
            where same_segment.segment_key = recorded_versions.segment_key
        )
    ),
{% else %}
    latest_versions as (
        select
            cast(null as {{ dbt.type_string() }}) as segment_key,
            cast(null as {{ dbt.type_string() }}) as rule_hash,
            cast(null as {{ dbt.type_string() }}) as status,
            cast(null as {{ dbt.type_int() }}) as definition_version
        where 1 = 0
    ),
{% endif %}

changed_definitions as (
    select
        registry_rows.segment_key,
        registry_rows.rule_hash,
        registry_rows.status,
        coalesce(latest_versions.definition_version, 0) + 1 as definition_version
    from registry_rows
    left join latest_versions
        on registry_rows.segment_key = latest_versions.segment_key
    where latest_versions.segment_key is null
        or latest_versions.rule_hash != registry_rows.rule_hash
        or latest_versions.status != registry_rows.status
),

final as (
    select
        segment_key,
        cast(definition_version as {{ dbt.type_int() }}) as definition_version,
        rule_hash,
        status,
        {{ as_of_date() }} as valid_from_date,
        {{ build_started_at() }} as recorded_at
    from changed_definitions
)

select * from final
