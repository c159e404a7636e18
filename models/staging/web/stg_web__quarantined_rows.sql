-- One row per raw web analytics row that could not be used, with the reason.
{{ select_quarantined_rows('base_web__events', 'web.events', ['event_id_raw']) }}
