-- Warns (never fails the build) about segments whose member count changed abnormally from
-- the day before to the newest KPI day: by more than the var segment_size_change_max_ratio
-- of the day before's count AND by at least segment_size_change_min_customers customers
-- (rpt_segment_kpi_ranking's is_abnormal_growth / is_abnormal_shrink). A sudden jump is
-- usually a rule edit, a broken feed or a real shift; the owner should look before the
-- segment is next used. Returns one row per flagged segment.
{{ config(severity='warn') }}

with

rpt_segment_kpi_ranking as (
    select * from {{ ref('rpt_segment_kpi_ranking') }}
),

flagged as (
    select
        segment_key,
        latest_kpi_date,
        previous_member_count,
        member_count,
        member_count_day_over_day_change,
        member_count_day_over_day_change_ratio,
        case when is_abnormal_growth then 'growth' else 'shrink' end as abnormal_change
    from rpt_segment_kpi_ranking
    where is_abnormal_growth or is_abnormal_shrink
)

select * from flagged
