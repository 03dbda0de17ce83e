"""The Path explorer report (implementation guide, "Path explorer"): the journeys of sessions
through the app, from ``clickstream_path_view`` (every event of a session with its
``event_rank``). A node is an event name or, with ``node_type=screen``, a screen or page (the
view's ``current_screen``: screen name of a _screen_view, page title of a _page_view; other
events are not nodes then). For each session in the range that has the chosen node: its first
occurrence and the ``steps`` - 1 nodes after it (``direction=from``, the default) or before it
(``direction=to``), as a Sankey of step-to-step links weighted by sessions, with the sessions
that stop short (``from``: "(drop-off)") or whose session began within the journey (``to``:
"(session start)"), a table per step, and the share of the range's sessions (those with a node of
the type) that have the node.

Offered: node type, node (default: the most frequent first node of the range's sessions, or
last one with ``to``), direction, 1 to 10 steps, the platform filter. Nodes are taken as the
view orders them (event_rank, then event_id for events in the same millisecond) and repeats are
kept: the guide's view keeps them (a reload is a step of the journey) and says nothing of
merging. A session is its events inside the range: one that spans the range's edge is cut
there. With ``compare=1`` and no node given, the previous period starts from its own most
frequent node. Not offered: the guide's previous/next event and screen as filters (the Sankey
shows them as links).

Speed (issue 14, "Performance"): the sessions whose nodes all lie in the range are walked from
``clickstream_path_nodes`` (dbt: a row per session and node at its first occurrence, with the nine
nodes after and before it), counted once per distinct walk; only the sessions the range's edge
cuts are walked event by event from the view, so every number is the event-level walk's.
"""

from __future__ import annotations

from typing import get_args

from clickstream_console.studio.model import Chart, Dimension, Parameter, Report, event_day, events_in_range, filter_clause
from clickstream_console.warehouse.query import ReportQuery
from clickstream_project.config import Platform

DIMENSIONS = (Dimension("platform", "Platform", "p.platform", choices=get_args(Platform)),)
NODE_TYPES = ("event", "screen")
DIRECTIONS = ("from", "to")
DEFAULT_STEPS = 5
MAX_STEPS = 10
# A Sankey stays readable with about ten nodes a column; the rest of a step is one "(other)" node.
TOP_NODES_PER_STEP = 10
# Node labels: a Sankey has no cycles, so a node is unique per step ("2 · Cart").
STEP_SEPARATOR = " · "
OTHER = "(other)"
DROP_OFF = "(drop-off)"
SESSION_START = "(session start)"

_NODE = "case when cast(:node_type as varchar) = 'screen' then p.current_screen else p.event_name end"
_NODE_TYPE = "case when cast(:node_type as varchar) = 'screen' then 'screen' else 'event' end"

# One window per session over its ordered nodes (position, previous and next node in one sort), only
# over the sessions the range's edge cuts (the others' walks come from clickstream_path_nodes).
_SESSION_ORDER = "partition by r.user_pseudo_id, r.session_id order by r.event_rank, r.event_id"


def _label(step: str, rank: str, node: str) -> str:
    """A Sankey node: unique per step, the step's nodes past the top ones as "(other)"."""
    return f"cast({step} as varchar) || '{STEP_SEPARATOR}' || case when {rank} <= {TOP_NODES_PER_STEP} then {node} else '{OTHER}' end"


def _walk_node(k: int) -> str:
    """The walk's k-th node from a clickstream_path_nodes row (k = 0: the anchor): after it in the
    session from the node, before it to the node; null past the chosen steps."""
    ahead, behind = (f"p.next_node_{k}", f"p.previous_node_{k}") if k else ("p.node", "p.node")
    return f"case when s.steps > {k} then case when s.to_end then {behind} else {ahead} end end"


def _offset_column(shift: int) -> str:
    """Of a walk's nodes w_0..w_<MAX_STEPS - 1>, the one ``shift`` places from the k-th (k = o.k)."""
    cases = " ".join(f"when {k} then w.w_{k + shift}" for k in range(MAX_STEPS) if 0 <= k + shift < MAX_STEPS)
    return f"case o.k {cases} end"


_WALK_COLUMNS = ", ".join(f"w_{k}" for k in range(MAX_STEPS))
_OFFSETS = " union all ".join(f"select {k} as k" for k in range(MAX_STEPS))
_FIRST_DAY, _LAST_DAY = (
    event_day("p", "event_date", "quarter_hour_timestamp"),
    event_day("p", "last_event_date", "last_quarter_hour_timestamp"),
)
# A session strictly inside the range's UTC dates lies whole in the range in any zone (offsets
# are under a day): only the sessions on the range's edge days pay for their days in the zone.
_INSIDE_UTC_DATES = "p.event_date > :start_date and p.last_event_date < :end_date"
# A session whose nodes of the type all lie in the range (its first and last node's quarter hour).
_WHOLE_IN_RANGE = (
    "p.event_date between :scan_start and :scan_end and p.last_event_date between :scan_start and :scan_end"
    f" and (({_INSIDE_UTC_DATES}) or ({events_in_range('p', 'event_date', 'quarter_hour_timestamp')}"
    f" and {events_in_range('p', 'last_event_date', 'last_quarter_hour_timestamp')}))"
)

# The walk every chart of the report reads: each journey's nodes numbered 1..steps, whether the
# journey goes on after a step (has_next) or came to it (has_previous), and each step's top nodes,
# with the sessions that walk it. Sessions whose nodes of the type all lie in the range are read
# from clickstream_path_nodes (a row per session and node at its first occurrence, with the nine
# nodes after and before it) and counted per distinct walk; those the range's edge cuts (over the
# zone's midnight at either end) are walked event by event, their nodes outside the range left out.
_JOURNEYS = f"""
with settings as (
    select
        coalesce(cast(:steps as integer), {DEFAULT_STEPS}) as steps,
        coalesce(cast(:direction as varchar), 'from') = 'to' as to_end
),
offsets as ({_OFFSETS}),
session_starts as (
    -- The whole sessions, one row each (their first node).
    select p.node, p.last_node
    from clickstream_path_nodes as p
    where p.node_type = {_NODE_TYPE} and p.node_position = 1 and {_WHOLE_IN_RANGE} and {filter_clause(DIMENSIONS)}
),
cut_sessions as (
    select p.user_pseudo_id, p.session_id
    from clickstream_path_nodes as p
    where
        p.node_type = {_NODE_TYPE}
        and p.node_position = 1
        and p.event_date <= :scan_end
        and p.last_event_date >= :scan_start
        and not ({_INSIDE_UTC_DATES})
        and {_FIRST_DAY} <= :end_date
        and {_LAST_DAY} >= :start_date
        and ({_FIRST_DAY} < :start_date or {_LAST_DAY} > :end_date)
        and {filter_clause(DIMENSIONS)}
),
range_nodes as (
    -- The cut sessions' nodes inside the range.
    select p.user_pseudo_id, p.session_id, p.event_rank, p.event_id, {_NODE} as node
    from clickstream_path_view as p
    join cut_sessions as c on p.user_pseudo_id = c.user_pseudo_id and p.session_id = c.session_id
    where {events_in_range("p")} and {filter_clause(DIMENSIONS)} and {_NODE} is not null
),
edge_nodes as (
    -- Each session's first (or last) node, only needed (and only computed) when no node is given.
    select case when s.to_end then w.last_node else w.node end as node
    from session_starts as w
    cross join settings as s
    where cast(:node as varchar) is null
    union all
    select e.node
    from (
        select r.node, lag(r.node) over ({_SESSION_ORDER}) as previous_node, lead(r.node) over ({_SESSION_ORDER}) as next_node
        from range_nodes as r
        where cast(:node as varchar) is null
    ) as e
    cross join settings as s
    where (s.to_end and e.next_node is null) or (not s.to_end and e.previous_node is null)
),
chosen as (
    select coalesce(
        cast(:node as varchar),
        (select e.node from edge_nodes as e group by e.node order by count(*) desc, e.node limit 1)
    ) as node
),
whole_walks as (
    -- The whole sessions with the chosen node (their row for it is its first occurrence), per distinct walk.
    select {_WALK_COLUMNS}, count(*) as sessions
    from (
        select {", ".join(f"{_walk_node(k)} as w_{k}" for k in range(MAX_STEPS))}
        from clickstream_path_nodes as p
        join chosen as c on p.node = c.node
        cross join settings as s
        where p.node_type = {_NODE_TYPE} and {_WHOLE_IN_RANGE} and {filter_clause(DIMENSIONS)}
    ) as anchored
    group by {_WALK_COLUMNS}
),
cut_with_node as (
    select distinct r.user_pseudo_id, r.session_id
    from range_nodes as r
    join chosen as c on r.node = c.node
),
session_nodes as (
    select
        r.user_pseudo_id,
        r.session_id,
        r.node,
        row_number() over ({_SESSION_ORDER}) as position,
        lag(r.node) over ({_SESSION_ORDER}) as previous_node,
        lead(r.node) over ({_SESSION_ORDER}) as next_node
    from range_nodes as r
    join cut_with_node as w on r.user_pseudo_id = w.user_pseudo_id and r.session_id = w.session_id
),
anchors as (
    -- The chosen node's first occurrence in each cut session.
    select n.user_pseudo_id, n.session_id, min(n.position) as anchor
    from session_nodes as n
    join chosen as c on n.node = c.node
    group by n.user_pseudo_id, n.session_id
),
walked as (
    -- from: the anchor is step 1; to: it is the last step. A journey's steps are consecutive nodes.
    select
        n.node,
        n.previous_node,
        n.next_node,
        n.position - a.anchor + case when s.to_end then s.steps else 1 end as step,
        1 as sessions
    from session_nodes as n
    join anchors as a on n.user_pseudo_id = a.user_pseudo_id and n.session_id = a.session_id
    cross join settings as s
    where
        (s.to_end and n.position between a.anchor - s.steps + 1 and a.anchor)
        or (not s.to_end and n.position between a.anchor and a.anchor + s.steps - 1)
    union all
    -- A whole session's walk: its k-th node is step k + 1 (from) or steps - k (to), the walk's order
    -- being the session's from the node and the reverse to it.
    select m.node, m.previous_node, m.next_node, m.step, m.sessions
    from (
        select
            {_offset_column(0)} as node,
            case when s.to_end then {_offset_column(1)} else {_offset_column(-1)} end as previous_node,
            case when s.to_end then {_offset_column(-1)} else {_offset_column(1)} end as next_node,
            case when s.to_end then s.steps - o.k else o.k + 1 end as step,
            w.sessions
        from whole_walks as w
        cross join settings as s
        cross join offsets as o
    ) as m
    where m.node is not null
),
journey_steps as (
    select
        w.node,
        w.next_node,
        w.step,
        w.sessions,
        w.step < s.steps and w.next_node is not null as has_next,
        w.step > 1 and w.previous_node is not null as has_previous
    from walked as w
    cross join settings as s
),
ranked as (
    select step, node, row_number() over (partition by step order by sum(sessions) desc, node) as node_rank
    from walked
    group by step, node
),
labelled as (
    select
        j.step,
        j.sessions,
        j.has_next,
        j.has_previous,
        {_label("j.step", "r.node_rank", "j.node")} as label,
        {_label("n.step", "n.node_rank", "n.node")} as next_label
    from journey_steps as j
    join ranked as r on j.step = r.step and j.node = r.node
    left join ranked as n on j.has_next and j.step + 1 = n.step and j.next_node = n.node
)"""

LINKS = ReportQuery(
    "path_links",
    f"""{_JOURNEYS},
links as (
    -- from: a journey that stops before the last step ends in the next step's "(drop-off)".
    select
        l.step,
        l.label as source,
        case when l.has_next then l.next_label else cast(l.step + 1 as varchar) || '{STEP_SEPARATOR}{DROP_OFF}' end as target,
        l.sessions
    from labelled as l
    cross join settings as s
    where l.has_next or (not s.to_end and l.step < s.steps)
    union all
    -- to: a journey whose session began after the first step comes from the previous step's "(session start)".
    select l.step - 1 as step, cast(l.step - 1 as varchar) || '{STEP_SEPARATOR}{SESSION_START}' as source, l.label as target, l.sessions
    from labelled as l
    cross join settings as s
    where s.to_end and l.step > 1 and not l.has_previous
)
select step, source, target, cast(sum(sessions) as bigint) as sessions
from links
group by step, source, target
order by step, sessions desc, source, target
""",
)

STEPS = ReportQuery(
    "path_steps",
    f"""{_JOURNEYS},
final as (
    select
        j.step,
        cast(sum(j.sessions) as bigint) as sessions,
        cast(coalesce(sum(case when not s.to_end and j.step < s.steps and not j.has_next then j.sessions end), 0) as bigint) as drop_off,
        cast(coalesce(sum(case when s.to_end and j.step > 1 and not j.has_previous then j.sessions end), 0) as bigint) as session_start
    from journey_steps as j
    cross join settings as s
    group by j.step
)
select f.step, r.node as top_node, f.sessions, f.drop_off, round(cast(f.drop_off as double) / f.sessions, 4) as drop_off_rate, f.session_start
from final as f
join ranked as r on f.step = r.step and r.node_rank = 1
order by f.step
""",
)

KPIS = ReportQuery(
    "path_kpis",
    f"""{_JOURNEYS},
counts as (
    -- The range's sessions with a node of the type (the cut ones with one inside) and those with the chosen node.
    select
        (select coalesce(sum(w.sessions), 0) from whole_walks as w) + (select count(*) from cut_with_node) as journeys,
        (select count(*) from session_starts) + (select count(*) from (select distinct r.user_pseudo_id, r.session_id from range_nodes as r) as c)
            as sessions
)
select
    cast(journeys as bigint) as journeys,
    cast(sessions as bigint) as sessions,
    round(cast(journeys as double) / nullif(sessions, 0), 4) as share_of_sessions
from counts
""",
)

FRESHNESS = ReportQuery("path_freshness", "select max(event_timestamp) as latest_event_timestamp from clickstream_path_view")

REPORT = Report(
    name="path",
    title="Path explorer",
    description="The journeys of sessions from (or to) an event, screen or page, step by step, with where they drop off.",
    dimensions=DIMENSIONS,
    charts=(
        Chart("kpis", "kpi", "Sessions with the node", KPIS, x=None, y=("journeys", "sessions", "share_of_sessions")),
        Chart("journeys", "sankey", "Journeys", LINKS, x="source", y=("sessions",), series="target", event_names=("source", "target")),
        Chart("steps", "table", "Sessions per step", STEPS, x="step", y=("sessions", "drop_off", "drop_off_rate", "session_start")),
    ),
    freshness=FRESHNESS,
    parameters=(
        Parameter("node_type", "Node type", placeholder="event (default)", choices=NODE_TYPES),
        Parameter("node", "Node", placeholder="Most frequent first (or last) node"),
        Parameter("direction", "Journeys", placeholder="from the node (default)", choices=DIRECTIONS),
        Parameter("steps", "Steps", placeholder=f"{DEFAULT_STEPS} (default)", choices=tuple(str(n) for n in range(1, MAX_STEPS + 1))),
    ),
)
