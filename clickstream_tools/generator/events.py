"""Turns what a simulated user does into events shaped exactly like the official SDKs' events.

`EventRecorder` plays the SDK inside one app install or browser: it owns the envelope (device
fields), the user attributes, the current session and the current screen or page, and adds the
preset attributes each SDK adds on its own (DATA_CONTRACT §2). Events are serialized as soon as
they are recorded: a simulation of 100k events then holds 100k short strings instead of 100k
nested dicts, and each request body is a join of them.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote_plus, urlsplit

from clickstream_project.config import App

from .catalog import SCREENS, Product, TrafficSource
from .profiles import MOBILE_PLATFORMS, DeviceProfile, package_name
from .randomness import uuid_from

# The SDKs only report engagement that lasted at least a second.
MIN_ENGAGEMENT_MS = 1000
SESSION_ID_KEY_LENGTH = 8
# Compact separators like JSON.stringify and org.json; ASCII-only so characters equal bytes.
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def session_id_for(profile: DeviceProfile, start_ms: int) -> str:
    """`<8 chars of unique_id>-<yyyyMMdd>-<HHmmssSSS>` in UTC, as each SDK builds it.

    The Swift SDK keeps the first eight characters of the unique id; the Android and web SDKs
    keep the last eight (the Android sample's "dc7a7a18" ends its unique id).
    """
    if profile.platform == "iOS":
        key = profile.unique_id[:SESSION_ID_KEY_LENGTH].ljust(SESSION_ID_KEY_LENGTH, "_")
    else:
        key = profile.unique_id[-SESSION_ID_KEY_LENGTH:].rjust(SESSION_ID_KEY_LENGTH, "_")
    moment = datetime.fromtimestamp(start_ms / 1000, tz=UTC)
    return f"{key}-{moment:%Y%m%d}-{moment:%H%M%S}{start_ms % 1000:03d}"


@dataclass(frozen=True)
class View:
    """A screen (mobile) or page (web) as the SDK names it."""

    key: str
    name: str
    id: str
    # Web only: the document title and URL.
    title: str = ""
    url: str = ""


@dataclass
class _Session:
    id: str
    start: int
    number: int
    external_referrer: str
    launch_attributes: dict[str, object]
    events: list[tuple[int, str]]


class EventRecorder:
    """The SDK state of one simulated device; every `record_*` call appends one event."""

    def __init__(self, rng: random.Random, app: App, profile: DeviceProfile) -> None:
        self._rng = rng
        self.app = app
        self.profile = profile
        self.mobile = profile.platform in MOBILE_PLATFORMS
        self._envelope = profile.envelope(app)
        self._package = package_name(app)
        self._executable = "".join(ch for ch in app.name if ch.isalnum()) or "App"
        self._global_attributes: dict[str, object] = {"_channel": profile.channel} if profile.channel else {}
        self.first_touch: int | None = None
        self._user_id: dict[str, object] | None = None
        self._session: _Session | None = None
        self._current: View | None = None
        self._last_view: tuple[View, int] | None = None
        self.last_timestamp: int | None = None
        # (timestamp, serialized event), one list per session, in time order.
        self.sessions: list[list[tuple[int, str]]] = []
        self.session_ids: list[str] = []

    # Naming -------------------------------------------------------------------------------

    def resolve(
        self, key: str, *, category: str = "", product: Product | None = None, term: str = "", traffic: TrafficSource | None = None
    ) -> View:
        screen = SCREENS[key]
        if self.profile.platform == "Android":
            return View(key, screen.android, f"{self._package}.ui.{screen.android}")
        if self.profile.platform == "iOS":
            return View(key, screen.ios, f"{self._executable}.{screen.ios}")
        values = {
            "category": category,
            "product": product.id if product else "",
            "product_name": product.name if product else "",
            "term": quote_plus(term),
        }
        path = screen.path.format(**values)
        if traffic is not None:
            separator = "&" if "?" in path else "?"
            path += f"{separator}utm_source={traffic.source}&utm_medium={traffic.medium}&utm_campaign={traffic.campaign}"
        title = f"{screen.title.format(**{**values, 'term': term})} | {self.app.name}"
        return View(key, name=title, id=path, title=title, url=f"https://{self.profile.host_name}{path}")

    # Lifecycle ----------------------------------------------------------------------------

    def open_session(self, ts: int, landing: View, traffic: TrafficSource | None) -> None:
        """App brought to the foreground (mobile) or page loaded (web) after 30 min away."""
        number = len(self.sessions) + 1
        launch: dict[str, object] = {}
        if traffic is not None:
            launch["_traffic_source_source"] = traffic.source
            launch["_traffic_source_medium"] = traffic.medium
            # The web SDK 0.12 names the campaign differently from the mobile SDKs.
            launch["_traffic_source_campaign" if not self.mobile else "_traffic_source_name"] = traffic.campaign
        self._session = _Session(
            id=session_id_for(self.profile, ts),
            start=ts,
            number=number,
            external_referrer=traffic.referrer if (traffic and not self.mobile) else "",
            launch_attributes=launch,
            events=[],
        )
        self.sessions.append(self._session.events)
        self.session_ids.append(self._session.id)
        self._last_view = None
        # A browser knows its page before the SDK records anything; an app learns its first
        # screen only when the activity or view controller appears.
        self._current = None if self.mobile else landing

        first = self.first_touch is None
        # Events the SDK records during one launch are a few milliseconds apart.
        clock = ts
        if first:
            self.first_touch = ts
            self._record(clock, "_first_open" if self.mobile else "_first_visit", {})
            clock += self._rng.randint(1, 30)
        if self.mobile:
            self._record(clock, "_app_start", {"_is_first_time": first})
            clock += self._rng.randint(1, 30)
        self._record(clock, "_session_start", {})

    def close_session(self, ts: int) -> None:
        """App sent to the background; the web SDK has no equivalent event by default."""
        if self.mobile:
            self._record(ts, "_app_end", {})
        self._session = None

    # Views and engagement -----------------------------------------------------------------

    def record_view(self, ts: int, view: View) -> None:
        attributes: dict[str, object] = {}
        previous = self._last_view
        if self.mobile:
            attributes["_screen_name"] = view.name
            attributes["_screen_id"] = view.id
            if previous is not None:
                attributes["_previous_screen_name"] = previous[0].name
                attributes["_previous_screen_id"] = previous[0].id
        else:
            referrer = self._active_session().external_referrer
            attributes["_page_referrer"] = previous[0].url if previous else referrer
            if previous is not None:
                attributes["_page_referrer_title"] = previous[0].title
            attributes["_latest_referrer"] = referrer
            attributes["_latest_referrer_host"] = urlsplit(referrer).netloc
        attributes["_entrances"] = 0 if previous else 1
        if previous is not None:
            attributes["_previous_timestamp"] = previous[1]
        self._current = view
        self._record(ts, "_screen_view" if self.mobile else "_page_view", attributes)
        self._last_view = (view, ts)
        # Traffic source attributes describe how the session started: they go on the events of
        # the launch up to and including the first view, not on the whole session.
        self._active_session().launch_attributes = {}

    def record_engagement(self, ts: int) -> None:
        """The user leaves the current screen or page; engagement shorter than 1 s is dropped."""
        if self._last_view is None:
            return
        engaged = ts - self._last_view[1]
        if engaged >= MIN_ENGAGEMENT_MS:
            self._record(ts, "_user_engagement", {"_engagement_time_msec": engaged})

    # Business events ----------------------------------------------------------------------

    def record_custom(self, ts: int, name: str, attributes: dict[str, object], items: list[dict[str, object]] | None = None) -> None:
        self._record(ts, name, attributes, items=items)

    def record_login(self, ts: int, user_id: str, profile: dict[str, object]) -> None:
        """ClickstreamAnalytics.setUserId + setUserAttributes: one `_profile_set` with all of them."""
        self._user_id = {"value": user_id, "set_timestamp": ts}
        user = {"_user_id": self._user_id, **{k: {"value": v, "set_timestamp": ts} for k, v in profile.items()}}
        user["_user_first_touch_timestamp"] = self._first_touch_attribute()
        self._record(ts, "_profile_set", {}, user=user)

    @property
    def logged_in(self) -> bool:
        return self._user_id is not None

    # Serialization ------------------------------------------------------------------------

    def _active_session(self) -> _Session:
        if self._session is None:
            raise RuntimeError("events are recorded inside a session; call open_session first")
        return self._session

    def _first_touch_attribute(self) -> dict[str, object]:
        return {"value": self.first_touch, "set_timestamp": self.first_touch}

    def _record(
        self,
        ts: int,
        name: str,
        attributes: dict[str, object],
        *,
        items: list[dict[str, object]] | None = None,
        user: dict[str, object] | None = None,
    ) -> None:
        session = self._active_session()
        if self.last_timestamp is not None and ts < self.last_timestamp:
            raise ValueError(f"{name} at {ts} is earlier than the previous event at {self.last_timestamp}")
        self.last_timestamp = ts

        event = self._envelope.copy()
        event["event_type"] = name
        event_id = uuid_from(self._rng)
        event["event_id"] = event_id.upper() if self.profile.uppercase_ids else event_id
        event["timestamp"] = ts
        if items is not None:
            event["items"] = items
        if user is None:
            user = {"_user_first_touch_timestamp": self._first_touch_attribute()}
            if self._user_id is not None:
                user["_user_id"] = self._user_id
        event["user"] = user

        merged: dict[str, object] = {**self._global_attributes, **session.launch_attributes, **attributes}
        current = self._current
        if current is not None:
            if self.mobile:
                merged.setdefault("_screen_name", current.name)
                merged.setdefault("_screen_id", current.id)
            else:
                # The web SDK adds the current document to every event.
                merged["_page_title"] = current.title
                merged["_page_url"] = current.url
        merged["_session_id"] = session.id
        merged["_session_start_timestamp"] = session.start
        merged["_session_duration"] = ts - session.start
        merged["_session_number"] = session.number
        event["attributes"] = merged

        text = _ENCODER.encode(event)
        if self.mobile:
            # The mobile SDKs put a short hash of the event first (see the SDK samples).
            digest = hashlib.sha256(text.encode("ascii")).hexdigest()[:8]
            text = '{"hashCode":"' + (digest.upper() if self.profile.uppercase_ids else digest) + '",' + text[1:]
        session.events.append((ts, text))


def item_of(product: Product, quantity: int, currency: str) -> dict[str, object]:
    return {
        "id": product.id,
        "name": product.name,
        "brand": product.brand,
        "category": product.category,
        "category2": product.category2,
        "price": product.price,
        "quantity": quantity,
        "currency": currency,
    }
