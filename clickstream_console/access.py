"""Who may open what: every view declares the feature it belongs to (``requires``), or that it is
open to anyone (``public``) or to anyone signed in (``signed_in``). ``gate`` runs before every
request and re-reads the viewer's roles from the database each time, so a role taken away applies
from the next request (gate.py). A view that declares nothing is refused to everyone (fail closed), and a
test checks that none is left undeclared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import g

from clickstream_console.identity.roles import Feature, Role, features_of

PUBLIC = "public"
SIGNED_IN = "signed in"
Access = Feature | str

View = TypeVar("View", bound=Callable)


def _mark(view: View, access: Access) -> View:
    view.console_access = access  # type: ignore[attr-defined]
    return view


def requires(feature: Feature) -> Callable[[View], View]:
    return lambda view: _mark(view, feature)


def public(view: View) -> View:
    return _mark(view, PUBLIC)


def signed_in(view: View) -> View:
    return _mark(view, SIGNED_IN)


def access_of(view: Callable) -> Access | None:
    return getattr(view, "console_access", None)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person of this request, with the roles they hold right now."""

    user_id: int
    email: str
    display_name: str | None
    roles: frozenset[Role]
    # "local" or "oidc": how this session was signed in.
    login: str

    @property
    def features(self) -> frozenset[Feature]:
        return features_of(self.roles)

    def may(self, feature: Feature) -> bool:
        return feature in self.features

    @property
    def name(self) -> str:
        return self.display_name or self.email


def viewer() -> Viewer | None:
    return g.get("viewer")


def current_viewer() -> Viewer:
    """The viewer of a request the gate let through as signed in."""
    found = viewer()
    if found is None:
        raise RuntimeError("no signed-in viewer: the view is not behind the gate")
    return found
