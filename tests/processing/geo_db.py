"""A tiny GeoLite2-City-shaped database for the IP enrichment tests, written with mmdb-writer.

Documentation ranges stand in for real networks (RFC 5737, RFC 3849), so nothing here is
anyone's real location; private ranges are deliberately absent, as in the real databases.
"""

from __future__ import annotations

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet


def _names(en: str) -> dict:
    return {"names": {"en": en, "de": f"{en} (de)"}}


NORTH_AMERICA = {"code": "NA", "geoname_id": 6255149, **_names("North America")}
EUROPE = {"code": "EU", "geoname_id": 6255148, **_names("Europe")}
ASIA = {"code": "AS", "geoname_id": 6255147, **_names("Asia")}
OCEANIA = {"code": "OC", "geoname_id": 6255151, **_names("Oceania")}

# network → record, in the layout of GeoLite2-City (continent, country, subdivisions, city, location).
RECORDS: dict[str, dict] = {
    "203.0.113.0/24": {
        "continent": NORTH_AMERICA,
        "country": {"iso_code": "US", **_names("United States")},
        "subdivisions": [{"iso_code": "CA", **_names("California")}],
        "city": _names("Mountain View"),
        "location": {"latitude": 37.386, "longitude": -122.0838, "metro_code": 807, "time_zone": "America/Los_Angeles"},
    },
    "198.51.100.0/24": {
        "continent": EUROPE,
        "country": {"iso_code": "DE", **_names("Germany")},
        "subdivisions": [{"iso_code": "BE", **_names("Land Berlin")}, {"iso_code": "X", **_names("Second level")}],
        "city": _names("Berlin"),
        "location": {"latitude": 52.52, "longitude": 13.405, "time_zone": "Europe/Berlin"},
    },
    "2001:db8::/32": {
        "continent": ASIA,
        "country": {"iso_code": "JP", **_names("Japan")},
        "subdivisions": [{"iso_code": "13", **_names("Tokyo")}],
        "city": _names("Tokyo"),
        "location": {"latitude": 35.69, "longitude": 139.69, "time_zone": "Asia/Tokyo"},
    },
    # Country-level only, as for many mobile-carrier ranges.
    "192.0.2.0/24": {
        "continent": OCEANIA,
        "country": {"iso_code": "AU", **_names("Australia")},
        "location": {"latitude": -33.494, "longitude": 143.2104, "time_zone": "Australia/Sydney"},
    },
}


def write_city_db(path: Path, records: dict[str, dict] = RECORDS) -> Path:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City", languages=["en", "de"],
                        description="clickstream test City database")  # fmt: skip
    for network, record in records.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path
