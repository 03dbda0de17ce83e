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
from clickstream_console.explore.spec import FRAME_FIELDS, MAX_EVENT_NAME_LENGTH, Frame, check_fields, in_range_sql, parse_frame
from clickstream_console.explore.sql_params import SqlParams
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
        detail = {"detail": {"step": self.detail.step, "node": self.detail.node}} if self.detail else {}
        return frame | {
            "anchor": {"side": self.side, "node_type": self.node_type, "node": self.node},
            "steps": self.steps,
            "split_by": {"kind": "session"} if self.gap_minutes is None else {"kind": "gap", "minutes": self.gap_minutes},
            "merge_repeats": self.merge_repeats,
            "top": self.top,
            **detail,
        }


def parse(data: Mapping, now: datetime, app_zone: str) -> PathSpec:
    check_fields(data, FIELDS, "a path analysis")
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
    params = SqlParams(event_dates=("scan_start", "scan_end"))
    journeys = _journeys_sql(spec, params)
    links = ReportQuery("explore_path_links", f"{journeys}{_links_sql(spec)}")
    # (A page or screen name is not an event's: only event nodes take display names.)
    named = ("source", "target") if spec.node_type == "event" else ()
    drawing = Drawing("sankey", x="source", y=("paths",), series="target", event_names=named)
    extra = {}
    if spec.detail is not None:
        detail = ReportQuery("explore_path_detail", f"{journeys}{_detail_sql(spec, params)}")
        extra["detail"] = (detail, Drawing("table", x="user_pseudo_id", y=("first_time",)))
    return AnalysisQuery(links, spec.frame.range_parameters() | params.values, drawing, extra)


def _journeys_sql(spec: PathSpec, params: SqlParams) -> str:
    """The CTEs every path query starts with: ``journeys``, a row per journey and step (the path's
    ``user_pseudo_id``/``path_id``, the step's event, ``step``, ``node``, the next step's
    ``next_node`` or null, whether the path ends after it or begins with it, ``first_row``), then
    ``transitions`` (journeys per step, node, next node, drop-off and path start) and ``ranked``
    (each step's nodes by journeys)."""
    frame = spec.frame
    node = "p.current_screen" if spec.node_type == "screen" else "p.event_name"
    # The global filters are on clickstream_ods_event_view's row: the path view's events among the
    # range's events that pass them (without any, the path view alone is read).
    if frame.filters:
        filtered = (
            "p.event_id in (select e.event_id from clickstream_ods_event_view as e"
            f" where {in_range_sql('e')} and {condition_sql(frame.filters, 'e', params)})"
        )
    else:
        filtered = "1 = 1"
    order = "order by n.event_timestamp, n.event_id"
    # ``positioned``: each node with its ``position`` (increasing along the path; only differences
    # are used), the path's next node (null at its end) and whether it begins the path.
    if spec.gap_minutes is None:
        session_order = f"partition by n.user_pseudo_id, n.session_id {order}"
        paths = f"""marked as (
    select n.*, lag(n.node) over ({session_order}) as previous_node
    from nodes as n
),
positioned as (
    -- One window (one sort) gives a node's position and the next node.
    select n.user_pseudo_id, n.session_id as path_id, n.event_id, n.event_timestamp, n.node,
        row_number() over ({session_order}) as position,
        lead(n.node) over ({session_order}) as next_node
    from marked as n
    {"where n.previous_node is null or n.node <> n.previous_node" if spec.merge_repeats else ""}
)"""
        path_begins = "n.position = 1"
    else:
        # Two sorts of a user's nodes: the gaps and the previous node (the previous node in the path,
        # but at a path's first node, which no merge drops); then, on the nodes kept, the paths,
        # positions and next nodes.
        user_order = f"partition by n.user_pseudo_id {order}"
        paths = f"""marked as (
    select n.*, lag(n.node) over ({user_order}) as previous_node,
        case when n.event_timestamp - lag(n.event_timestamp) over ({user_order}) <= {params.add(spec.gap_minutes * 60_000)}
            then 0 else 1 end as new_path
    from nodes as n
),
kept as (
    select * from marked {"where new_path = 1 or node <> previous_node" if spec.merge_repeats else ""}
),
walkable as (
    select n.*,
        cast(sum(n.new_path) over ({user_order} rows between unbounded preceding and current row) as varchar) as path_id,
        row_number() over ({user_order}) as position,
        lead(n.node) over ({user_order}) as following_node,
        lead(n.new_path) over ({user_order}) as following_new_path
    from kept as n
),
positioned as (
    select n.user_pseudo_id, n.path_id, n.event_id, n.event_timestamp, n.node, n.position, n.new_path,
        case when n.following_new_path = 0 then n.following_node end as next_node
    from walkable as n
)"""
        path_begins = "n.new_path = 1"
    anchor = params.add(spec.node)
    steps = int(spec.steps)
    if spec.side == "start":
        # The anchor's first occurrence is step 1; the journey runs to the path's end or the last step.
        anchor_position, step = "min(position)", "n.position - a.anchor_position + 1"
        window = f"n.position between a.anchor_position and a.anchor_position + {steps - 1}"
    else:
        # The anchor's last occurrence is the last step; the journey starts at the path's start or step 1.
        anchor_position, step = "max(position)", f"n.position - a.anchor_position + {steps}"
        window = f"n.position between a.anchor_position - {steps - 1} and a.anchor_position"
    # Only a start journey drops off, only an end journey has a path start (a constant is not
    # grouped by: Redshift refuses one in GROUP BY).
    dropped, started = _dropped(spec), _started(spec)
    return f"""with nodes as (
    select p.user_pseudo_id, p.session_id, p.event_id, p.event_timestamp, {node} as node
    from clickstream_path_view as p
    where {in_range_sql("p")} and {filtered} and {node} is not null
),
{paths},
anchors as (
    select user_pseudo_id, path_id, {anchor_position} as anchor_position
    from positioned
    where node = {anchor}
    group by user_pseudo_id, path_id
),
journeys as (
    select n.user_pseudo_id, n.path_id, n.event_id, n.event_timestamp, n.node, {step} as step,
        case when {step} < {steps} then n.next_node end as next_node,
        -- The path ends after the node, or begins with it; the journey's first row.
        n.next_node is null as path_ends, {path_begins} as path_begins, {step} = 1 or {path_begins} as first_row
    from positioned as n
    join anchors as a on n.user_pseudo_id = a.user_pseudo_id and n.path_id = a.path_id
    where {window}
),
transitions as (
    -- The journeys per step, node and next node: the few rows the labels are worked out on.
    select step, node, next_node, {dropped} as dropped, {started} as started, count(*) as paths
    from journeys
    group by step, node, next_node, {dropped if spec.side == "start" else started}
),
ranked as (
    select step, node, row_number() over (partition by step order by sum(paths) desc, node) as node_rank
    from transitions
    group by step, node
)"""


def _label(rank: str, node: str, top: int) -> str:
    """The step's node as the Sankey shows it: itself among the step's top nodes, else "(other)"."""
    return f"case when {rank} <= {int(top)} then {node} when {rank} is not null then '{OTHER}' end"


def _links_sql(spec: PathSpec) -> str:
    """From a journey's step to its next one; "(drop-off)" after a start journey's last step short
    of the end; "(path start)" before an end journey's first step after step 1."""

    def node(step: str, label: str) -> str:
        return f"'{STEP_PREFIX}' || cast({step} as varchar) || ': ' || {label}"

    return f""",
labelled as (
    select t.step, t.dropped, t.started, t.paths,
        {_label("r.node_rank", "t.node", spec.top)} as label,
        {_label("n.node_rank", "t.next_node", spec.top)} as next_label
    from transitions as t
    join ranked as r on t.step = r.step and t.node = r.node
    left join ranked as n on t.step + 1 = n.step and t.next_node = n.node
),
links as (
    select step, {node("step", "label")} as source, {node("step + 1", "next_label")} as target, paths
    from labelled
    where next_label is not null
    union all
    select step, {node("step", "label")}, {node("step + 1", f"'{DROP_OFF}'")}, paths
    from labelled
    where dropped
    union all
    select step - 1, {node("step - 1", f"'{PATH_START}'")}, {node("step", "label")}, paths
    from labelled
    where started
)
select step, source, target, sum(paths) as paths
from links
group by step, source, target
order by step, paths desc, source, target"""


def _detail_sql(spec: PathSpec, params: SqlParams) -> str:
    """The journeys through the detail's node (one row per journey, earliest first) and their total."""
    assert spec.detail is not None
    step = int(spec.detail.step)
    if node_is := {DROP_OFF: "j.dropped", PATH_START: "j.started"}.get(spec.detail.node):
        # A "(drop-off)" at step k is the journeys whose last step is k - 1; a "(path start)" at k,
        # those whose first step is k + 1.
        through = f"{node_is} and j.step = {step - 1 if spec.detail.node == DROP_OFF else step + 1}"
    else:
        through = f"j.step = {step} and {_label('r.node_rank', 'j.node', spec.top)} = {params.add(spec.detail.node)}"
    return f""",
through as (
    select distinct j.user_pseudo_id, j.path_id
    from (select j.*, {_dropped(spec)} as dropped, {_started(spec)} as started from journeys as j) as j
    join ranked as r on j.step = r.step and j.node = r.node
    where {through}
),
firsts as (
    -- The journeys' first events, the earliest DETAIL_ROWS of them, before their user_id is looked up.
    select j.user_pseudo_id, j.path_id, j.event_id, j.event_timestamp as first_time, count(*) over () as total
    from journeys as j
    join through as t on j.user_pseudo_id = t.user_pseudo_id and j.path_id = t.path_id
    where j.first_row
    order by first_time, j.user_pseudo_id, j.path_id
    limit {DETAIL_ROWS}
)
select f.user_pseudo_id, e.user_id, f.path_id, local_timestamp(f.first_time, :tz) as first_time, f.total
from firsts as f
left join clickstream_ods_event_view as e on e.event_id = f.event_id and e.event_date between :scan_start and :scan_end
order by f.first_time, f.user_pseudo_id, f.path_id"""


def _dropped(spec: PathSpec) -> str:
    return f"path_ends and step < {int(spec.steps)}" if spec.side == "start" else "false"


def _started(spec: PathSpec) -> str:
    return "path_begins and step > 1" if spec.side == "end" else "false"
