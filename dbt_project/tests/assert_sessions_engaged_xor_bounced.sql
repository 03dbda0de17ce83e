-- Every session is exactly one of engaged or bounced.
select
    user_pseudo_id,
    session_id,
    engaged_session,
    bounced_session
from {{ ref('clickstream_session_view') }}
where engaged_session + bounced_session <> 1
