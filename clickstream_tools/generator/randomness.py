"""Seeded helpers shared by the simulation: every random draw goes through one random.Random."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def rng_for(*parts: object) -> random.Random:
    # A string seed is hashed with SHA-512 by random.seed, so it is stable across processes and
    # PYTHONHASHSEED; one generator per user keeps a user's events unchanged when other users or
    # apps are added to the run.
    return random.Random("/".join(str(part) for part in parts))


def uuid_from(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def weighted(rng: random.Random, choices: Sequence[tuple[T, int]]) -> T:
    values = [value for value, _ in choices]
    weights = [weight for _, weight in choices]
    return rng.choices(values, weights=weights)[0]
