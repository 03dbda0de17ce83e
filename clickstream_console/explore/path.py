"""Explore's path analysis (issue 15, "Path"): the journeys of an app's users from a start node or
to an end node, step by step, as a Sankey, and the users and paths behind any node of it.

Rules (the tests in tests/console/test_explore_path.py compute each by hand):

- Events: ``clickstream_path_view`` rows (every event with a session) in the range, in the
  selection's zone, that pass the global filters (on their ``clickstream_ods_event_view`` row).
  A node is the event name, or with ``node_type`` "screen" the ``current_screen`` (screen name
  of a _screen_view, page title of a _page_view; other events are then no nodes at all).
- Order: by event time, then event id for events in the same millisecond (as the dashboards'
  Path explorer); the order events arrived in plays no part.
- Paths: ``split_by`` session: the nodes of one session (``session_id``) of a user. ``gap``: a
  user's nodes, a new path starting when a node comes more than ``minutes`` after the previous
  one (exactly ``minutes`` apart stays in the same path). A path is cut at the range's edges.
- ``merge_repeats``: consecutive equal nodes of a path count once (a reload is no step).
- Journey: ``side`` start: the first occurrence of the anchor in a path is step 1, the next
  ``steps`` - 1 nodes follow it; a journey that ends before the last step goes to "(drop-off)"
  at the next step. ``side`` end: the last occurrence is the last step, the ``steps`` - 1 nodes
  before it precede it; a journey whose path began within it comes from "(path start)" at the
  step before its first. A path without the anchor is no journey.
- ``top``: each step keeps its ``top`` nodes by journeys (ties by name), the rest of the step
  is "(other)". Links join "step k: node" to "step k+1: node", weighted by journeys.
- Node detail (``detail``: ``{"step": k, "node": label}``, the label as the Sankey shows it,
  "(other)", "(drop-off)" and "(path start)" included): the journeys through it, at most
  ``DETAIL_ROWS`` of them (earliest first) with their total: the user, their ``user_id`` (on the
  journey's first event; null for users without one), the path (session id, or the user's n-th
  gap-split path in the range) and when the journey's first step happened (epoch ms).
- No breakdown: a journey's branches are its breakdown (refused, naming the field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from clickstream_console.explore.analysis import AnalysisQuery, Drawing
from clickstream_console.explore.filters import BadSpec, condition_sql
from clickstream_console.explore.spec import FRAME_FIELDS, MAX_EVENT_NAME_LENGTH, Frame, parse_frame
from clickstream_console.explore.sql_params import SqlParams
from clickstream_console.studio.model import events_in_range
from clickstream_console.warehouse.query import ReportQuery

KIND = "path"
FIELDS = (*FRAME_FIELDS, "anchor", "steps", "split_by", "merge_repeats", "top", "detail")
MAX_STEPS = 10
DEFAULT_STEPS = 5
MAX_TOP = 50
DEFAULT_TOP = 10
# A day: a gap longer than that is a new visit however it is counted.
MAX_GAP_MINUTES = 1440
DEFAULT_GAP_MINUTES = 30
DETAIL_ROWS = 100
OTHER = "(other)"
DROP_OFF = "(drop-off)"
PATH_START = "(path start)"
STEP_PREFIX = "step "

Side = Literal["start", "end"]
NodeType = Literal["event", "screen"]


@dataclass(frozen=True)
class Detail:
    step: int
    node: str


@dataclass(frozen=True)
class PathSpec:
    frame: Frame
    side: Side
    node_type: NodeType
    node: str
    steps: int
    # None: split by session; else the gap in minutes that starts a new path.
    gap_minutes: int | None
    merge_repeats: bool
    top: int
    detail: Detail | None = None

    def to_json(self) -> dict:
        frame = self.frame.to_json()
        frame.pop("breakdown")
        return frame | {
            "anchor": {"side": self.side, "node_type": self.node_type, "node": self.node},
            "steps": self.steps,
            "split_by": {"kind": "session"} if self.gap_minutes is None else {"kind": "gap", "minutes": self.gap_minutes},
            "merge_repeats": self.merge_repeats,
            "top": self.top,
        }


def parse(data: Mapping, now: datetime, app_zone: str) -> PathSpec:
    if not isinstance(data, Mapping):
        raise BadSpec("analysis", f"expected an object, got {type(data).__name__}")
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise BadSpec(sorted(unknown)[0], f"unknown field (a path analysis has {', '.join(FIELDS)})")
    if data.get("breakdown") is not None:
        raise BadSpec("breakdown", "a path has no breakdown: its branches are the breakdown (filter instead)")
    frame = parse_frame(data, now, app_zone)
    side, node_type, node = _anchor(data.get("anchor"))
    return PathSpec(
        frame=frame,
        side=side,
        node_type=node_type,
        node=node,
        steps=_whole(data.get("steps", DEFAULT_STEPS), "steps", 1, MAX_STEPS),
        gap_minutes=_split_by(data.get("split_by", {"kind": "session"})),
        merge_repeats=_flag(data.get("merge_repeats", False), "merge_repeats"),
        top=_whole(data.get("top", DEFAULT_TOP), "top", 1, MAX_TOP),
        detail=_detail(data.get("detail")),
    )


def _anchor(data: object) -> tuple[Side, NodeType, str]:
    if not isinstance(data, Mapping):
        raise BadSpec("anchor", f"expected an object with side, node_type and node, got {type(data).__name__}")
    unknown = set(data) - {"side", "node_type", "node"}
    if unknown:
        raise BadSpec("anchor", f"unknown field {', '.join(sorted(unknown))} (an anchor has side, node_type and node)")
    side = data.get("side", "start")
    if side not in ("start", "end"):
        raise BadSpec("anchor.side", f"{side!r} is not start or end")
    node_type = data.get("node_type", "event")
    if node_type not in ("event", "screen"):
        raise BadSpec("anchor.node_type", f"{node_type!r} is not event or screen")
    return side, node_type, _node(data.get("node"), "anchor.node")


def _node(node: object, field: str) -> str:
    if not isinstance(node, str) or not node.strip():
        raise BadSpec(field, f"expected an event, screen or page name, got {node!r}")
    if len(node) > MAX_EVENT_NAME_LENGTH:
        raise BadSpec(field, f"longer than {MAX_EVENT_NAME_LENGTH} characters")
    return node


def _split_by(data: object) -> int | None:
    if not isinstance(data, Mapping):
        raise BadSpec("split_by", f'expected {{"kind": "session"}} or {{"kind": "gap", "minutes": N}}, got {type(data).__name__}')
    kind = data.get("kind")
    if kind == "session":
        if set(data) - {"kind"}:
            raise BadSpec("split_by", f"unknown field {', '.join(sorted(set(data) - {'kind'}))} (a session split has only kind)")
        return None
    if kind != "gap":
        raise BadSpec("split_by.kind", f"{kind!r} is not session or gap")
    if set(data) - {"kind", "minutes"}:
        raise BadSpec("split_by", f"unknown field {', '.join(sorted(set(data) - {'kind', 'minutes'}))} (a gap split has kind and minutes)")
    return _whole(data.get("minutes", DEFAULT_GAP_MINUTES), "split_by.minutes", 1, MAX_GAP_MINUTES)


def _detail(data: object) -> Detail | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise BadSpec("detail", f"expected an object with step and node, got {type(data).__name__}")
    if set(data) - {"step", "node"}:
        raise BadSpec("detail", f"unknown field {', '.join(sorted(set(data) - {'step', 'node'}))} (a node detail has step and node)")
    return Detail(_whole(data.get("step"), "detail.step", 1, MAX_STEPS), _node(data.get("node"), "detail.node"))


def _whole(value: object, field: str, low: int, high: int) -> int:
    # bool is an int to Python, not a number to a user.
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadSpec(field, f"expected a whole number from {low} to {high}, got {value!r}")
    return value


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise BadSpec(field, f"expected true or false, got {value!r}")
    return value


def build(spec: PathSpec) -> AnalysisQuery:
    if spec.detail is not None and spec.detail.step > spec.steps:
        raise BadSpec("detail.step", f"step {spec.detail.step} is past the journey's {spec.steps} steps")
    params = SqlParams()
    journeys = _journeys_sql(spec, params)
    links = ReportQuery("explore_path_links", f"{journeys}\n{_LINKS}")
    drawing = Drawing("sankey", x="source", y=("paths",), series="target")
    extra = {}
    if spec.detail is not None:
        detail = ReportQuery("explore_path_detail", f"{journeys}\n{_detail_sql(spec, params)}")
        extra["detail"] = (detail, Drawing("table", x="user_pseudo_id", y=("first_time",)))
    return AnalysisQuery(links, spec.frame.range_parameters() | params.values, drawing, extra)


def _journeys_sql(spec: PathSpec, params: SqlParams) -> str:
    """CTEs ending in ``labelled``: a row per journey and step (``step``, ``label``, the next
    step's ``next_label`` or null, the path's ``user_pseudo_id``/``path_id``, ``first_step`` and
    ``last_step`` of the journey and its first event)."""
    frame = spec.frame
    node = "p.current_screen" if spec.node_type == "screen" else "p.event_name"
    # The global filters are on clickstream_ods_event_view's row; without any, the path view alone
    # is read (a join of two 9.7M-row views is most of a path's time on the bench).
    if frame.filters:
        joined = (
            "join clickstream_ods_event_view as e on e.event_id = p.event_id and e.event_date = p.event_date"
            " and e.event_date between :scan_start and :scan_end"
        )
        filtered = condition_sql(frame.filters, "e", params)
    else:
        joined, filtered = "", "1 = 1"
    order = "order by n.event_timestamp, n.event_id"
    if spec.gap_minutes is None:
        paths = "select n.*, n.session_id as path_id from nodes as n"
    else:
        gap = params.add(spec.gap_minutes * 60_000)
        paths = f"""select g.*, cast(sum(g.new_path) over (partition by g.user_pseudo_id order by g.event_timestamp, g.event_id
        rows between unbounded preceding and current row) as varchar) as path_id
    from (
        select n.*, case when n.event_timestamp - lag(n.event_timestamp) over (partition by n.user_pseudo_id {order}) <= {gap}
            then 0 else 1 end as new_path
        from nodes as n
    ) as g"""
    kept = "where m.previous_node is null or m.node <> m.previous_node" if spec.merge_repeats else ""
    anchor = params.add(spec.node)
    steps = int(spec.steps)
    if spec.side == "start":
        anchor_position = "min(position)"
        step = "n.position - a.anchor_position + 1"
        window = f"n.position between a.anchor_position and a.anchor_position + {steps - 1}"
    else:
        anchor_position = "max(position)"
        step = f"n.position - a.anchor_position + {steps}"
        window = f"n.position between a.anchor_position - {steps - 1} and a.anchor_position"
    return f"""with nodes as (
    select p.user_pseudo_id, p.session_id, p.event_id, p.event_timestamp, {node} as node
    from clickstream_path_view as p
    {joined}
    where {events_in_range("p")} and {filtered} and {node} is not null
),
paths as (
    {paths}
),
merged as (
    select m.*
    from (select n.*, lag(n.node) over (partition by n.user_pseudo_id, n.path_id {order}) as previous_node from paths as n) as m
    {kept}
),
positioned as (
    select n.user_pseudo_id, n.path_id, n.event_id, n.event_timestamp, n.node,
        row_number() over (partition by n.user_pseudo_id, n.path_id {order}) as position
    from merged as n
),
anchors as (
    select user_pseudo_id, path_id, {anchor_position} as anchor_position
    from positioned
    where node = {anchor}
    group by user_pseudo_id, path_id
),
walked as (
    select n.user_pseudo_id, n.path_id, n.event_id, n.event_timestamp, n.node, {step} as step
    from positioned as n
    join anchors as a on n.user_pseudo_id = a.user_pseudo_id and n.path_id = a.path_id
    where {window}
),
journeys as (
    select w.*,
        lead(w.node) over (partition by w.user_pseudo_id, w.path_id order by w.step) as next_node,
        min(w.step) over (partition by w.user_pseudo_id, w.path_id) as first_step,
        max(w.step) over (partition by w.user_pseudo_id, w.path_id) as last_step
    from walked as w
),
ranked as (
    select step, node, row_number() over (partition by step order by count(*) desc, node) as node_rank
    from journeys
    group by step, node
),
labelled as (
    select j.user_pseudo_id, j.path_id, j.event_id, j.event_timestamp, j.step, j.first_step, j.last_step,
        case when r.node_rank <= {int(spec.top)} then j.node else '{OTHER}' end as label,
        case when n.node_rank <= {int(spec.top)} then j.next_node when n.node_rank is not null then '{OTHER}' end as next_label,
        {steps} as steps,
        {"true" if spec.side == "start" else "false"} as from_start,
        '{DROP_OFF}' as drop_off,
        '{PATH_START}' as path_start,
        '{STEP_PREFIX}' as step_prefix
    from journeys as j
    join ranked as r on j.step = r.step and j.node = r.node
    left join ranked as n on j.step + 1 = n.step and j.next_node = n.node
)"""


# From a journey's step to its next one; "(drop-off)" after a start journey's last step short of
# the end; "(path start)" before an end journey's first step after step 1.
_LINKS = """, links as (
    select step, step_prefix || cast(step as varchar) || ': ' || label as source,
        step_prefix || cast(step + 1 as varchar) || ': ' || next_label as target
    from labelled
    where next_label is not null
    union all
    select step, step_prefix || cast(step as varchar) || ': ' || label, step_prefix || cast(step + 1 as varchar) || ': ' || drop_off
    from labelled
    where from_start and step = last_step and step < steps
    union all
    select step - 1, step_prefix || cast(step - 1 as varchar) || ': ' || path_start, step_prefix || cast(step as varchar) || ': ' || label
    from labelled
    where not from_start and step = first_step and step > 1
)
select step, source, target, count(*) as paths
from links
group by step, source, target
order by step, paths desc, source, target"""


def _detail_sql(spec: PathSpec, params: SqlParams) -> str:
    assert spec.detail is not None
    step, node = int(spec.detail.step), params.add(spec.detail.node)
    return f""", through as (
    -- The journeys whose step is the node, or that dropped off before it (start) or whose path began after it (end).
    select distinct user_pseudo_id, path_id
    from labelled
    where (step = {step} and label = {node})
        or (from_start and {node} = drop_off and step = last_step and last_step = {step - 1})
        or (not from_start and {node} = path_start and step = first_step and first_step = {step + 1})
),
firsts as (
    select l.user_pseudo_id, l.path_id, l.event_id, l.event_timestamp
    from labelled as l
    join through as t on l.user_pseudo_id = t.user_pseudo_id and l.path_id = t.path_id
    where l.step = l.first_step
),
users as (
    select f.user_pseudo_id, e.user_id, f.path_id, f.event_timestamp as first_time, count(*) over () as total
    from firsts as f
    left join clickstream_ods_event_view as e
        on e.event_id = f.event_id and e.event_date between :scan_start and :scan_end
)
select user_pseudo_id, user_id, path_id, first_time, total
from users
order by first_time, user_pseudo_id, path_id
limit {DETAIL_ROWS}"""
