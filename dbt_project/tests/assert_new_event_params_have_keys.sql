-- Every parameter of the new events has a key (the grain of clickstream_ods_event_attributes_view).
select e.event_id
from {{ ref('base_new_events') }} as e
{{ unnest_key_values('e.event_params', 'kv') }}
where kv.key is null
