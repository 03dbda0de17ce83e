-- Every session is exactly one of engaged or bounced.
select *
from {{ ref('clickstream_session_view') }}
where engaged_session + bounced_session <> 1
