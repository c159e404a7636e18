{#-
    One row per point in time the machine-learned models use: the training cutoffs, the
    later evaluation cutoff and the scoring cutoff (midnight after as_of). Features read
    data strictly before cutoff_at; labels read the horizon that starts at cutoff_at.

    The evaluation cutoff is the latest whose longest label horizon
    (ml_churn_horizon_days) ends by the as_of cutoff; the training cutoffs step back from
    it by ml_cutoff_step_days.
    The grid is computed here from the vars, so every adapter gets the same literal dates.
-#}
{%- set as_of_day = modules.datetime.datetime.strptime(as_of_date_string(), '%Y-%m-%d') %}
{%- set scoring_at = as_of_day + modules.datetime.timedelta(days=1) %}
{%- set churn_days = var('ml_churn_horizon_days') | int %}
{%- set step_days = var('ml_cutoff_step_days') | int %}
{%- set evaluation_at = scoring_at - modules.datetime.timedelta(days=churn_days) %}
{%- set cutoffs = [] %}
{%- for step in range(var('ml_training_cutoffs') | int, 0, -1) %}
    {%- do cutoffs.append(('training', evaluation_at - modules.datetime.timedelta(days=step * step_days))) %}
{%- endfor %}
{%- do cutoffs.append(('evaluation', evaluation_at)) %}
{%- do cutoffs.append(('scoring', scoring_at)) %}

{%- set grid_rows = [] %}
{%- for role, cutoff_at in cutoffs %}
    {%- set cutoff_day = cutoff_at.strftime('%Y-%m-%d') %}
    {%- do grid_rows.append("select '" ~ role ~ "' as cutoff_role, '" ~ cutoff_day ~ "' as cutoff_day") %}
{%- endfor %}

with

cutoff_grid as (
    {{ grid_rows | join(' union all ') }}
),

final as (
    select
        cast(cutoff_day as date) as cutoff_date,
        cutoff_role,
        cast(cutoff_day as {{ dbt.type_timestamp() }}) as cutoff_at,
        cutoff_role != 'scoring' as has_labels
    from cutoff_grid
)

select * from final
