"""The product's identity-management documentation as data: its tables, read from the copy of the
seed in tests/fixtures/seeds/, so tests compare the code with the document itself."""

from __future__ import annotations

from pathlib import Path

from clickstream_console.identity.roles import Feature, Role

SEED = Path(__file__).resolve().parents[1] / "fixtures" / "seeds" / "identity-management.md"


def seed_table(heading: str) -> list[list[str]]:
    """The rows of the seed's markdown table whose header row starts with ``heading``."""
    lines = SEED.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{heading} |"))
    rows = []
    for line in lines[start + 2 :]:
        if "|" not in line:
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def seed_permissions() -> dict[tuple[Role, Feature], bool]:
    """(role, feature) → whether the seed's permission table says Yes."""
    header = [cell.strip() for cell in next(line for line in SEED.read_text().splitlines() if line.startswith("Feature |")).split("|")]
    roles = [Role(name) for name in header[1:] if name]
    return {(Role(role), Feature(row[0])): row[1 + index] == "Yes" for row in seed_table("Feature") for index, role in enumerate(roles)}
