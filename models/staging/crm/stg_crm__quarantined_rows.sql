-- One row per raw CRM row that could not be used, with the reason.
{{ select_quarantined_rows('base_crm__contacts', 'crm.contacts', ['contact_id_raw', 'updated_at_raw']) }}

union all

{{ select_quarantined_rows('base_crm__consent_events', 'crm.consent_events', ['consent_event_id_raw']) }}
