-- One row per audience of the audience registry (_audience_registry.yml), whatever its
-- status, with its definition and its counts at as_of: eligible, held out and excluded
-- customers (zero for paused and archived audiences, which are not computed).
with

int_audience_eligibility as (
    select * from {{ ref('int_audience_eligibility') }}
),

registry_rows as (
    {{ audience_catalog_rows() }}
),

audience_counts as (
    select
        audience_key,
        sum(case when eligibility_status = 'eligible' then 1 else 0 end) as eligible_count,
        sum(case when eligibility_status = 'holdout' then 1 else 0 end) as holdout_count,
        sum(case when eligibility_status = 'excluded' then 1 else 0 end) as excluded_count
    from int_audience_eligibility
    group by audience_key
),

final as (
    select
        cast(registry_rows.audience_key as {{ dbt.type_string() }}) as audience_key,
        cast(registry_rows.audience_name as {{ dbt.type_string() }}) as audience_name,
        cast(registry_rows.description as {{ dbt.type_string() }}) as description,
        registry_rows.owner,
        cast(registry_rows.status as {{ dbt.type_string() }}) as status,
        cast(registry_rows.channel as {{ dbt.type_string() }}) as channel,
        cast(registry_rows.consent_purpose as {{ dbt.type_string() }}) as consent_purpose,
        cast(registry_rows.holdout_percent as {{ dbt.type_int() }}) as holdout_percent,
        cast(registry_rows.frequency_cap_max_additions as {{ dbt.type_int() }}) as frequency_cap_max_additions,
        cast(registry_rows.frequency_cap_per_days as {{ dbt.type_int() }}) as frequency_cap_per_days,
        cast(registry_rows.destination_keys as {{ dbt.type_string() }}) as destination_keys,
        cast(registry_rows.schedule as {{ dbt.type_string() }}) as schedule,
        cast(coalesce(audience_counts.eligible_count, 0) as {{ dbt.type_bigint() }}) as eligible_count,
        cast(coalesce(audience_counts.holdout_count, 0) as {{ dbt.type_bigint() }}) as holdout_count,
        cast(coalesce(audience_counts.excluded_count, 0) as {{ dbt.type_bigint() }}) as excluded_count,
        {{ as_of_date() }} as as_of_date
    from registry_rows
    left join audience_counts
        on registry_rows.audience_key = audience_counts.audience_key
)

select * from final
