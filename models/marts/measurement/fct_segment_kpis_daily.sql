{#-
    One row per segment per day, for every segment that is active in the registry or has
    membership history, from the first day the membership history holds through as_of:
    its size at the end of the day, entries, exits and churns, and the email and order
    KPIs of its members (docs/measurement.md#segment-kpis).
    - Size, entries and exits come from the member spells of the history: a spell opened
      on day d (valid_from_date) is an entry, one closed on d (valid_to_date) an exit, and
      the size is the running sum of entries minus exits, so it equals the members at the
      end of each day without scanning every spell for every day.
    - Activity (int_customer_kpi_activity_daily) counts for the segment when the customer
      was a member at the end of the activity's day: valid_from_date <= day <
      valid_to_date.
-#}

with

int_segment_memberships_historized as (
    select * from {{ ref('int_segment_memberships_historized') }}
),

int_customer_kpi_activity_daily as (
    select * from {{ ref('int_customer_kpi_activity_daily') }}
),

registry_segments as (
    {{ segment_catalog_rows(statuses=['active']) }}
),

member_spells as (
    select
        customer_id,
        segment_key,
        valid_from_date,
        valid_to_date
    from int_segment_memberships_historized
    where membership_state = 'member'
),

kpi_days as (
    {{ date_spine_rows('(select min(valid_from_date) from int_segment_memberships_historized)', as_of_date()) }}
),

segments as (
    select segment_key from registry_segments
    union
    select segment_key from int_segment_memberships_historized
),

segment_days as (
    select
        segments.segment_key,
        kpi_days.spine_date as kpi_date
    from segments
    cross join kpi_days
    where kpi_days.spine_date is not null
),

entries as (
    select
        segment_key,
        valid_from_date as kpi_date,
        count(*) as entered_count
    from member_spells
    group by
        segment_key,
        valid_from_date
),

exits as (
    select
        segment_key,
        valid_to_date as kpi_date,
        count(*) as exited_count
    from member_spells
    where valid_to_date is not null
    group by
        segment_key,
        valid_to_date
),

flows as (
    select
        segment_days.segment_key,
        segment_days.kpi_date,
        coalesce(entries.entered_count, 0) as entered_count,
        coalesce(exits.exited_count, 0) as exited_count
    from segment_days
    left join entries
        on segment_days.segment_key = entries.segment_key
            and segment_days.kpi_date = entries.kpi_date
    left join exits
        on segment_days.segment_key = exits.segment_key
            and segment_days.kpi_date = exits.kpi_date
),

sizes as (
    select
        segment_key,
        kpi_date,
        entered_count,
        exited_count,
        sum(entered_count - exited_count) over (
            partition by segment_key
            order by kpi_date
            rows between unbounded preceding and current row
        ) as member_count
    from flows
),

member_activity as (
    select
        member_spells.segment_key,
        activity.activity_date as kpi_date,
        {{ kpi_activity_sums('activity') }}
    from int_customer_kpi_activity_daily as activity
    inner join member_spells
        on activity.customer_id = member_spells.customer_id
            and activity.activity_date >= member_spells.valid_from_date
            and (member_spells.valid_to_date is null or activity.activity_date < member_spells.valid_to_date)
    group by
        member_spells.segment_key,
        activity.activity_date
),

final as (
    select
        sizes.segment_key,
        sizes.kpi_date,
        {{ kpi_count('sizes.member_count') }} as member_count,
        {{ kpi_count('sizes.entered_count') }} as entered_count,
        {{ kpi_count('sizes.exited_count') }} as exited_count,
        {{ kpi_count('sums.churned_count') }} as churned_count,
        {{ kpi_activity_columns('sums') }},
        {{ as_of_date() }} as as_of_date
    from sizes
    left join member_activity as sums
        on sizes.segment_key = sums.segment_key
            and sizes.kpi_date = sums.kpi_date
)

select * from final
