-- One row per raw email platform row (campaigns, events) that could not be used, with the reason.
{{ select_quarantined_rows('base_email__campaigns', 'email.campaigns', ['campaign_id_raw']) }}

union all

{{ select_quarantined_rows('base_email__events', 'email.events', ['email_event_id_raw']) }}
