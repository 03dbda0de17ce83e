"""Simulate the users of each app over a time window and batch their events into SDK requests.

Pure and deterministic: every draw comes from `random.Random` generators derived from the seed
(one per user, see `randomness.rng_for`), UUIDs come from those generators, and the clock is the
`end` argument. The same arguments give byte-identical requests.

User model, per app (users are spread evenly over the app's platforms):

- first appearance uniform over the window, weighted towards the user's local daytime and
  evening; the first session opens with `_first_open` (mobile) or `_first_visit` (web);
- after each session the user comes back with a per-user probability drawn from Beta(3, 1.5)
  (mean 0.67), so some users return on several days and others churn after one visit; the next
  session starts 31 minutes to a few days after the last event, always more than the SDKs'
  30-minute session timeout;
- traffic sources on 55% of first sessions and 25% of later ones; 45% of users sign in at
  some point (`_user_id`, `_profile_set`).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from clickstream_project.config import App, ProjectConfig

from .catalog import TRAFFIC_SOURCES
from .events import EventRecorder
from .journeys import new_shopper, run_session
from .profiles import MOBILE_PLATFORMS, draw_profile
from .randomness import rng_for, weighted
from .wire import SdkRequest, json_array_size

DEFAULT_DAYS = 2.0
DEFAULT_USERS = 50
DEFAULT_SEED = 42
DEFAULT_WEB_BATCH_SIZE = 1
DEFAULT_UNCOMPRESSED_SHARE = 0.1
# Official SDK limits per request (DATA_CONTRACT §1).
MAX_EVENTS_PER_REQUEST = 100
MAX_REQUEST_BYTES = 512 * 1024

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
# One minute more than the SDKs' 30-minute timeout, so a return is always a new session.
MIN_SESSION_GAP_MS = 31 * MINUTE_MS
# A first visit needs room for at least its launch events before the window closes.
LAST_START_MARGIN_MS = MINUTE_MS
MIN_WINDOW_MINUTES = 2
# Relative activity per local hour (0-23): quiet at night, peaking in the evening.
HOURLY_ACTIVITY = (2, 1, 1, 1, 1, 2, 4, 6, 7, 7, 7, 8, 9, 8, 7, 7, 8, 9, 10, 11, 12, 11, 8, 4)
FIRST_SESSION_TRAFFIC_SHARE = 0.55
RETURN_SESSION_TRAFFIC_SHARE = 0.25
SAME_DAY_RETURN_SHARE = 0.5
SAME_DAY_RETURN_MEAN_MS = int(2.5 * HOUR_MS)
LATER_RETURN_MEAN_MS = 16 * HOUR_MS
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class AppCounts:
    """Ground truth for one app: what the warehouse must end up with after a clean run."""

    events: int
    users: int
    sessions: int
    requests: int

    def as_dict(self) -> dict[str, int]:
        return {"events": self.events, "users": self.users, "sessions": self.sessions}


@dataclass(frozen=True)
class Simulation:
    start: datetime
    end: datetime
    seed: int
    days: float
    users_per_app: int
    # All requests, ordered by their first event's time (then app, device, sequence id), so a
    # replay delivers the window roughly in the order it happened.
    requests: tuple[SdkRequest, ...]
    counts: dict[str, AppCounts]

    def expected_counts(self) -> dict[str, dict[str, int]]:
        """Per app: events sent (= rows in ods_events), distinct unique_ids, distinct _session_ids."""
        return {app_id: counts.as_dict() for app_id, counts in self.counts.items()}

    @property
    def total_events(self) -> int:
        return sum(c.events for c in self.counts.values())

    def iter_events(self) -> Iterator[dict]:
        for request in self.requests:
            yield from request.events()


def simulate(
    apps: ProjectConfig | Iterable[App],
    *,
    end: datetime,
    days: float = DEFAULT_DAYS,
    users: int = DEFAULT_USERS,
    seed: int = DEFAULT_SEED,
    web_batch_size: int = DEFAULT_WEB_BATCH_SIZE,
    mobile_batch_size: int = MAX_EVENTS_PER_REQUEST,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    uncompressed_share: float = DEFAULT_UNCOMPRESSED_SHARE,
) -> Simulation:
    """Simulate `users` users per app over the `days` before `end` (timezone-aware).

    `web_batch_size` is how many events the web SDK puts in one request (1 is its default
    immediate mode); mobile requests hold up to `mobile_batch_size` events and
    `max_request_bytes` of JSON, and never span two sessions, because the SDKs flush when the
    app goes to the background. `uncompressed_share` is the share of mobile installs configured
    with `isCompressEvents: false`.
    """
    app_list = list(apps.apps if isinstance(apps, ProjectConfig) else apps)
    _check_arguments(end, days, users, web_batch_size, mobile_batch_size, max_request_bytes, uncompressed_share)
    end = end.astimezone(UTC)
    start = end - timedelta(days=days)
    start_ms, end_ms = _epoch_ms(start), _epoch_ms(end)

    requests: list[SdkRequest] = []
    counts: dict[str, AppCounts] = {}
    for app in app_list:
        events = 0
        unique_ids: set[str] = set()
        session_ids: set[str] = set()
        app_requests = 0
        for index in range(users):
            platform = app.platforms[index % len(app.platforms)]
            recorder = simulate_user(
                rng_for(seed, app.app_id, index), app, platform, start_ms, end_ms, uncompressed_share=uncompressed_share
            )
            batch_size = mobile_batch_size if platform in MOBILE_PLATFORMS else web_batch_size
            device_requests = list(batch_requests(recorder, batch_size, max_request_bytes))
            requests.extend(device_requests)
            app_requests += len(device_requests)
            events += sum(len(session) for session in recorder.sessions)
            unique_ids.add(recorder.profile.unique_id)
            session_ids.update(recorder.session_ids)
        counts[app.app_id] = AppCounts(events=events, users=len(unique_ids), sessions=len(session_ids), requests=app_requests)

    requests.sort(key=lambda r: (r.first_timestamp, r.app_id, r.device_id, r.sequence_id))
    return Simulation(start=start, end=end, seed=seed, days=days, users_per_app=users, requests=tuple(requests), counts=counts)


def simulate_user(rng: random.Random, app: App, platform: str, start_ms: int, end_ms: int, *, uncompressed_share: float) -> EventRecorder:
    """All sessions of one user inside [start_ms, end_ms); the recorder holds the events."""
    profile = draw_profile(rng, app, platform, uncompressed_share=uncompressed_share)
    recorder = EventRecorder(rng, app, profile)
    shopper = new_shopper(rng, recorder)
    loyalty = rng.betavariate(3.0, 1.5)

    session_start = _first_start(rng, profile.zone_offset, start_ms, end_ms)
    while True:
        share = FIRST_SESSION_TRAFFIC_SHARE if not recorder.sessions else RETURN_SESSION_TRAFFIC_SHARE
        traffic = weighted(rng, [(t, t.weight) for t in TRAFFIC_SOURCES]) if rng.random() < share else None
        if not run_session(shopper, session_start, end_ms, traffic):
            break
        if rng.random() >= loyalty:
            break
        mean = SAME_DAY_RETURN_MEAN_MS if rng.random() < SAME_DAY_RETURN_SHARE else LATER_RETURN_MEAN_MS
        candidate = recorder.last_timestamp + MIN_SESSION_GAP_MS + int(rng.expovariate(1 / mean))
        session_start = _shift_to_active_hour(rng, candidate, profile.zone_offset)
        if session_start >= end_ms - LAST_START_MARGIN_MS:
            break
    return recorder


def batch_requests(recorder: EventRecorder, max_events: int, max_bytes: int) -> Iterator[SdkRequest]:
    """The device's uploads in time order, each within one session and the SDK limits."""
    profile = recorder.profile
    sequence_id = 0
    for session in recorder.sessions:
        for chunk in split_batches([text for _, text in session], max_events, max_bytes):
            first_index = chunk.start
            sequence_id += 1
            yield SdkRequest(
                app_id=recorder.app.app_id,
                platform=profile.platform,
                device_id=profile.device_id,
                sequence_id=sequence_id,
                compress=profile.compress,
                user_agent=profile.user_agent,
                payload="[" + ",".join(session[i][1] for i in chunk) + "]",
                event_count=len(chunk),
                first_timestamp=session[first_index][0],
                last_timestamp=session[chunk.stop - 1][0],
            )


def split_batches(events: list[str], max_events: int, max_bytes: int) -> Iterator[range]:
    """Consecutive index ranges of `events` whose JSON array fits `max_events` and `max_bytes`.

    An event larger than `max_bytes` on its own still goes out alone; the events built here are
    about 1 KB, so that only matters to callers passing their own limits.
    """
    begin, size = 0, 0
    for index, text in enumerate(events):
        count = index - begin
        if count and (count >= max_events or json_array_size(size + len(text), count + 1) > max_bytes):
            yield range(begin, index)
            begin, size = index, 0
        size += len(text)
    if begin < len(events):
        yield range(begin, len(events))


def _first_start(rng: random.Random, zone_offset: int, start_ms: int, end_ms: int) -> int:
    latest = max(start_ms + 1, end_ms - LAST_START_MARGIN_MS)
    candidate = rng.randint(start_ms + 1, latest)
    # Rejection sampling towards active hours; bounded so tiny windows still get a start.
    for _ in range(20):
        if rng.random() * max(HOURLY_ACTIVITY) < _activity(candidate, zone_offset):
            break
        candidate = rng.randint(start_ms + 1, latest)
    return candidate


def _shift_to_active_hour(rng: random.Random, candidate: int, zone_offset: int) -> int:
    # Only ever later: moving a return earlier could break the 30-minute session gap.
    for _ in range(48):
        if rng.random() * max(HOURLY_ACTIVITY) < _activity(candidate, zone_offset):
            break
        candidate += rng.randint(20 * MINUTE_MS, 60 * MINUTE_MS)
    return candidate


def _activity(ts: int, zone_offset: int) -> int:
    return HOURLY_ACTIVITY[((ts + zone_offset) // HOUR_MS) % 24]


def _epoch_ms(moment: datetime) -> int:
    # Integer arithmetic: float seconds lose the millisecond at some instants.
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _check_arguments(
    end: datetime, days: float, users: int, web_batch_size: int, mobile_batch_size: int, max_request_bytes: int, uncompressed_share: float
) -> None:
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware (for example datetime.now(timezone.utc))")
    if not days * 24 * 60 >= MIN_WINDOW_MINUTES:
        raise ValueError(f"days must cover at least {MIN_WINDOW_MINUTES} minutes, got {days}")
    if users < 1:
        raise ValueError(f"users must be at least 1, got {users}")
    for name, value in (("web_batch_size", web_batch_size), ("mobile_batch_size", mobile_batch_size)):
        if not 1 <= value <= MAX_EVENTS_PER_REQUEST:
            raise ValueError(f"{name} must be between 1 and {MAX_EVENTS_PER_REQUEST} (the SDK limit), got {value}")
    if max_request_bytes < 2:
        raise ValueError(f"max_request_bytes must leave room for a JSON array, got {max_request_bytes}")
    if not 0.0 <= uncompressed_share <= 1.0:
        raise ValueError(f"uncompressed_share must be between 0 and 1, got {uncompressed_share}")
