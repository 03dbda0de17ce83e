"""What a simulated shopper does inside one session: a walk over the catalog's screens.

Times are epoch milliseconds. Within a session consecutive events are at most a few minutes
apart (the longest dwell is 8 minutes), far below the SDKs' 30-minute session timeout, so the
session the SDK would compute is exactly the session simulated here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from .catalog import (
    CATEGORIES,
    CURRENCY,
    EXIT,
    FIRST_NAMES,
    MEMBERSHIP_LEVELS,
    PRODUCTS,
    SEARCH_TERMS,
    TRANSITIONS,
    Product,
    TrafficSource,
)
from .events import EventRecorder, item_of
from .randomness import weighted

MAX_VIEWS_PER_SESSION = 25
LONG_DWELL_SHARE = 0.05
LONG_DWELL_MS = (120_000, 480_000)
# Typical time on each screen in seconds (low, high); the draw leans towards the low end.
DWELL_SECONDS: dict[str, tuple[int, int]] = {
    "home": (4, 40),
    "category": (6, 60),
    "search": (5, 45),
    "product": (12, 120),
    "cart": (8, 60),
    "checkout": (25, 180),
    "confirmation": (5, 30),
    "account": (5, 40),
    "login": (15, 60),
}
ADD_TO_CART_SHARE = 0.25


@dataclass
class Shopper:
    """What a user carries from one session to the next."""

    rng: random.Random
    recorder: EventRecorder
    # Users who will create an account or sign in at some point.
    wants_account: bool
    user_id: str
    profile: dict[str, object]
    cart: list[tuple[Product, int]] = field(default_factory=list)


def new_shopper(rng: random.Random, recorder: EventRecorder) -> Shopper:
    return Shopper(
        rng=rng,
        recorder=recorder,
        wants_account=rng.random() < 0.45,
        user_id=str(rng.randrange(1_000_000, 10_000_000)),
        profile={
            "_user_name": rng.choice(FIRST_NAMES),
            "membership_level": weighted(rng, MEMBERSHIP_LEVELS),
            "newsletter_opt_in": rng.random() < 0.4,
        },
    )


def run_session(shopper: Shopper, start: int, deadline: int, traffic: TrafficSource | None) -> bool:
    """Record one session starting at `start`; returns False when `deadline` cut it short.

    Nothing is recorded at or after `deadline`: the simulated window ends there, so a session
    still in progress simply has no more events yet.
    """
    rng, recorder = shopper.rng, shopper.recorder
    key, context = _landing(rng, recorder.mobile, traffic)
    view = recorder.resolve(key, traffic=traffic if not recorder.mobile else None, **context)
    recorder.open_session(start, view, traffic)
    # Half of the sessions of a user who wants an account include the sign-in, after a few views.
    signs_in = shopper.wants_account and not recorder.logged_in and rng.random() < 0.5
    login_at = rng.randint(1, 4) if signs_in else None

    t = recorder.last_timestamp + rng.randint(50, 400)
    views = 0
    while True:
        if t >= deadline:
            return False
        recorder.record_view(t, view)
        views += 1
        leave = t + _dwell_ms(rng, key)
        if not _act_on(shopper, key, context, t, leave, deadline):
            return False
        if leave >= deadline:
            return False
        recorder.record_engagement(leave)

        if login_at is not None and views >= login_at:
            next_key, login_at = "login", None
        else:
            next_key = _next_screen(rng, key, bool(shopper.cart))
        if next_key == EXIT or views >= MAX_VIEWS_PER_SESSION:
            end = leave + rng.randint(50, 500)
            if end >= deadline:
                return False
            recorder.close_session(end)
            return True
        key, context = next_key, _context_for(rng, next_key, context)
        view = recorder.resolve(key, **context)
        t = leave + rng.randint(200, 1500)


def _landing(rng: random.Random, mobile: bool, traffic: TrafficSource | None) -> tuple[str, dict]:
    # Apps open on their home screen; campaign links and search results land deeper on the web.
    if mobile or traffic is None:
        key = "home" if (mobile or rng.random() < 0.7) else rng.choice(("category", "product"))
    else:
        key = weighted(rng, (("home", 30), ("category", 30), ("product", 40)))
    return key, _context_for(rng, key, {})


def _context_for(rng: random.Random, key: str, previous: dict) -> dict:
    if key == "category":
        return {"category": rng.choice(CATEGORIES)}
    if key == "search":
        return {"term": rng.choice(SEARCH_TERMS)}
    if key == "product":
        category = previous.get("category")
        pool = [p for p in PRODUCTS if p.category == category] if category else PRODUCTS
        return {"product": rng.choice(pool or PRODUCTS), "category": category or ""}
    return {}


def _next_screen(rng: random.Random, key: str, cart_filled: bool) -> str:
    next_key = weighted(rng, TRANSITIONS[key])
    # Checkout with an empty cart bounces back home, as shops do.
    if next_key == "checkout" and not cart_filled:
        return "home"
    return next_key


def _dwell_ms(rng: random.Random, key: str) -> int:
    if rng.random() < LONG_DWELL_SHARE:
        return rng.randint(*LONG_DWELL_MS)
    low, high = DWELL_SECONDS[key]
    return int((low + (high - low) * rng.betavariate(1.2, 2.5)) * 1000)


def _act_on(shopper: Shopper, key: str, context: dict, shown: int, leave: int, deadline: int) -> bool:
    """Business events while a screen is shown; False when the deadline came first."""
    rng, recorder = shopper.rng, shopper.recorder
    actions: list[tuple[int, str, dict[str, object], list | None]] = []
    if key == "product":
        product: Product = context["product"]
        item = item_of(product, 1, CURRENCY)
        actions.append((_between(rng, shown, leave, 0.02, 0.1), "view_item", {"_value": product.price, "_currency": CURRENCY}, [item]))
        if rng.random() < ADD_TO_CART_SHARE:
            quantity = weighted(rng, ((1, 85), (2, 12), (3, 3)))
            shopper.cart.append((product, quantity))
            actions.append(
                (
                    _between(rng, shown, leave, 0.5, 0.95),
                    "add_to_cart",
                    {"_value": round(product.price * quantity, 2), "_currency": CURRENCY},
                    [item_of(product, quantity, CURRENCY)],
                )
            )
    elif key == "search":
        actions.append((_between(rng, shown, leave, 0.01, 0.05), "search", {"search_term": context["term"]}, None))
    elif key == "confirmation" and shopper.cart:
        items = [item_of(p, q, CURRENCY) for p, q in shopper.cart]
        total = round(sum(p.price * q for p, q in shopper.cart), 2)
        actions.append(
            (
                _between(rng, shown, leave, 0.01, 0.05),
                "purchase",
                {"transaction_id": f"T{rng.getrandbits(40):010X}", "_value": total, "_currency": CURRENCY},
                items,
            )
        )
        shopper.cart.clear()
    elif key == "login":
        signed_in = _between(rng, shown, leave, 0.7, 0.95)
        if signed_in >= deadline:
            return False
        recorder.record_login(signed_in, shopper.user_id, shopper.profile)

    for ts, name, attributes, items in actions:
        if ts >= deadline:
            return False
        recorder.record_custom(ts, name, attributes, items)
    return True


def _between(rng: random.Random, start: int, end: int, low: float, high: float) -> int:
    return start + max(1, int((end - start) * rng.uniform(low, high)))
