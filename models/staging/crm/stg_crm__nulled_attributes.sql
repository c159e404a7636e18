-- One row per staged CRM row per optional attribute that staging nulled as implausible,
-- with the landed value and the reason.
{{ select_nulled_attributes(
    'base_crm__contacts',
    'crm.contacts',
    ['contact_id', 'updated_at'],
    ['email', 'phone', 'birth_date', 'signed_up_at']
) }}
