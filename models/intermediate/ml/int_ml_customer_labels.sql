{#-
    One row per customer per training or evaluation cutoff (int_ml_cutoffs.has_labels)
    with a counted order at or after the cutoff: the counted orders in the propensity
    horizon [cutoff_at, cutoff_at + ml_propensity_horizon_days) and in the churn horizon
    [cutoff_at, cutoff_at + ml_churn_horizon_days). Customers without such an order have
    no row (int_ml_training_examples reads that as 0).
-#}
{%- set churn_days = var('ml_churn_horizon_days') | int %}
{%- set propensity_days = var('ml_propensity_horizon_days') | int %}

with

int_ml_cutoffs as (
    select * from {{ ref('int_ml_cutoffs') }}
),

int_orders_enriched as (
    select * from {{ ref('int_orders_enriched') }}
),

orders_after_cutoffs as (
    select
        int_orders_enriched.customer_id,
        int_ml_cutoffs.cutoff_date,
        int_orders_enriched.ordered_at < {{ dbt.dateadd('day', propensity_days, 'int_ml_cutoffs.cutoff_at') }}
            as is_in_propensity_horizon,
        int_orders_enriched.ordered_at < {{ dbt.dateadd('day', churn_days, 'int_ml_cutoffs.cutoff_at') }}
            as is_in_churn_horizon
    from int_orders_enriched
    inner join int_ml_cutoffs
        on int_orders_enriched.ordered_at >= int_ml_cutoffs.cutoff_at
    where int_ml_cutoffs.has_labels
        and int_orders_enriched.customer_id is not null
        and int_orders_enriched.is_counted_order
),

final as (
    select
        customer_id,
        cutoff_date,
        count(case when is_in_propensity_horizon then 1 end) as orders_in_propensity_horizon,
        count(case when is_in_churn_horizon then 1 end) as orders_in_churn_horizon
    from orders_after_cutoffs
    group by customer_id, cutoff_date
)

select * from final
