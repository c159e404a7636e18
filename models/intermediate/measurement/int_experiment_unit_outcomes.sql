{#-
    One row per experiment per assigned customer whose attribution window has closed by
    as_of (assigned_date + attribution_days <= as_of), for experiments that are running or
    stopped: the outcomes read out, each counted from the assigned day (inclusive) for
    attribution_days days, and the CUPED covariate.
    - converted: 1 when the customer placed a counted order in the window, else 0;
    - revenue_usd: counted revenue of the orders in the window (0 without one);
    - clicked_campaign: 1 when a campaign the customer received was first clicked in the window;
    - pre_period_revenue_usd: counted revenue in the 90 days before the assigned day, the
      pre-period covariate of the CUPED estimate (known before assignment, so untouched by
      the treatment).
    Units still inside their window are left out: a half-open window would pull every arm's
    figures down by how recently it was assigned.
-#}
{%- set assigned_at = 'cast(int_experiment_assignments.assigned_date as ' ~ dbt.type_timestamp() ~ ')' %}
{%- set window_days = 'experiment_windows.attribution_days' %}

with

int_experiment_assignments as (
    select * from {{ ref('int_experiment_assignments') }}
),

int_orders_enriched as (
    select * from {{ ref('int_orders_enriched') }}
),

int_customer_email_campaigns as (
    select * from {{ ref('int_customer_email_campaigns') }}
),

experiment_arms as (
    {{ experiment_arm_rows() }}
),

experiment_windows as (
    select distinct
        experiment_key,
        attribution_days
    from experiment_arms
),

windowed_assignments as (
    select
        int_experiment_assignments.experiment_key,
        int_experiment_assignments.customer_id,
        int_experiment_assignments.arm_key,
        int_experiment_assignments.is_control_arm,
        int_experiment_assignments.assigned_date,
        {{ assigned_at }} as window_starts_at,
        {{ dbt.dateadd('day', window_days, assigned_at) }} as window_ends_at,
        {{ dbt.dateadd('day', -90, assigned_at) }} as pre_period_starts_at
    from int_experiment_assignments
    inner join experiment_windows
        on int_experiment_assignments.experiment_key = experiment_windows.experiment_key
    where {{ dbt.dateadd('day', window_days, 'int_experiment_assignments.assigned_date') }}
        <= {{ dbt.dateadd('day', 1, as_of_date()) }}
),

counted_orders as (
    select
        customer_id,
        ordered_at,
        counted_revenue_usd
    from int_orders_enriched
    where is_counted_order
        and customer_id is not null
),

windowed_orders as (
    select
        windowed_assignments.experiment_key,
        windowed_assignments.customer_id,
        counted_orders.counted_revenue_usd,
        counted_orders.ordered_at >= windowed_assignments.window_starts_at as is_in_window
    from windowed_assignments
    inner join counted_orders
        on windowed_assignments.customer_id = counted_orders.customer_id
            and windowed_assignments.pre_period_starts_at <= counted_orders.ordered_at
            and windowed_assignments.window_ends_at > counted_orders.ordered_at
),

order_outcomes as (
    select
        windowed_orders.experiment_key,
        windowed_orders.customer_id,
        max(case when windowed_orders.is_in_window then 1 else 0 end) as converted,
        sum(case when windowed_orders.is_in_window then windowed_orders.counted_revenue_usd else 0 end) as revenue_usd,
        sum(case when windowed_orders.is_in_window then 0 else windowed_orders.counted_revenue_usd end)
            as pre_period_revenue_usd
    from windowed_orders
    group by
        windowed_orders.experiment_key,
        windowed_orders.customer_id
),

click_outcomes as (
    select distinct
        windowed_assignments.experiment_key,
        windowed_assignments.customer_id
    from windowed_assignments
    inner join int_customer_email_campaigns
        on windowed_assignments.customer_id = int_customer_email_campaigns.customer_id
            and windowed_assignments.window_starts_at <= int_customer_email_campaigns.first_clicked_at
            and windowed_assignments.window_ends_at > int_customer_email_campaigns.first_clicked_at
),

final as (
    select
        windowed_assignments.experiment_key,
        windowed_assignments.customer_id,
        windowed_assignments.arm_key,
        windowed_assignments.is_control_arm,
        windowed_assignments.assigned_date,
        coalesce(order_outcomes.converted, 0) as converted,
        coalesce(order_outcomes.revenue_usd, 0) as revenue_usd,
        case when click_outcomes.customer_id is null then 0 else 1 end as clicked_campaign,
        coalesce(order_outcomes.pre_period_revenue_usd, 0) as pre_period_revenue_usd
    from windowed_assignments
    left join order_outcomes
        on windowed_assignments.experiment_key = order_outcomes.experiment_key
            and windowed_assignments.customer_id = order_outcomes.customer_id
    left join click_outcomes
        on windowed_assignments.experiment_key = click_outcomes.experiment_key
            and windowed_assignments.customer_id = click_outcomes.customer_id
)

select * from final
