{#-
    One row per customer per training or evaluation cutoff: the point-in-time features of
    int_ml_customer_features with the labels of int_ml_customer_labels, read strictly from
    the horizons after the cutoff:
    - will_purchase: a counted order in the propensity horizon;
    - is_churned: no counted order in the churn horizon, only for customers who ordered
      before the cutoff (null for the others).
-#}

with

int_ml_customer_features as (
    select * from {{ ref('int_ml_customer_features') }}
),

int_ml_customer_labels as (
    select * from {{ ref('int_ml_customer_labels') }}
),

final as (
    select
        int_ml_customer_features.*,
        coalesce(int_ml_customer_labels.orders_in_propensity_horizon, 0) > 0 as will_purchase,
        case
            when int_ml_customer_features.has_ordered
                then coalesce(int_ml_customer_labels.orders_in_churn_horizon, 0) = 0
        end as is_churned
    from int_ml_customer_features
    left join int_ml_customer_labels
        on int_ml_customer_features.customer_id = int_ml_customer_labels.customer_id
            and int_ml_customer_features.cutoff_date = int_ml_customer_labels.cutoff_date
    where int_ml_customer_features.has_labels
)

select * from final
