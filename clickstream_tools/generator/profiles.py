"""Simulated devices: the fields each official SDK reports about the phone or browser it runs in.

One profile per simulated user. The values follow what the SDKs read from the system:
Android `Build.MANUFACTURER`/`BRAND`/`MODEL` and `Locale.toString()` ("en_US", "zh_CN_#Hans"),
iOS "apple" and `Locale` ("en_US (current)"), the web SDK `navigator.language` ("en-US") and
the window sizes. `zone_offset` is the raw zone offset in milliseconds, as every SDK sends it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from clickstream_project.config import App

from .catalog import INSTALL_CHANNELS
from .randomness import uuid_from, weighted

SDK_NAME = "aws-solution-clickstream-sdk"
# Reported as sdk_version only; nothing downstream branches on it.
SDK_VERSIONS = {"Android": "0.12.4", "iOS": "0.11.3", "Web": "0.12.5"}
APP_VERSIONS = (("1.4.0", 60), ("1.3.2", 30), ("1.2.0", 10))
MOBILE_PLATFORMS = frozenset({"Android", "iOS"})


@dataclass(frozen=True)
class Country:
    code: str
    language: str
    zone_offsets_hours: tuple[float, ...]
    carriers: tuple[str, ...]
    weight: int


COUNTRIES: tuple[Country, ...] = (
    Country("US", "en", (-5, -6, -8), ("T-Mobile", "Verizon", "AT&T"), 30),
    Country("IN", "en", (5.5,), ("Jio 4G", "airtel", "Vi India"), 12),
    Country("CN", "zh", (8,), ("China Mobile", "China Unicom", "China Telecom"), 10),
    Country("GB", "en", (0,), ("EE", "Vodafone UK", "O2 - UK"), 8),
    Country("DE", "de", (1,), ("Telekom.de", "Vodafone.de", "o2 - de"), 8),
    Country("JP", "ja", (9,), ("NTT DOCOMO", "SoftBank", "au"), 8),
    Country("BR", "pt", (-3,), ("VIVO", "Claro BR", "TIM"), 8),
    Country("FR", "fr", (1,), ("Orange F", "SFR", "Free"), 6),
    Country("CA", "en", (-5, -8), ("Rogers", "Bell", "TELUS"), 5),
    Country("AU", "en", (10,), ("Telstra", "Optus"), 5),
)

# (make, brand, model, (screen_height, screen_width) in pixels, weight)
ANDROID_DEVICES = (
    ("samsung", "samsung", "SM-S918B", (2316, 1080), 14),
    ("samsung", "samsung", "SM-A546B", (2340, 1080), 14),
    ("samsung", "samsung", "SM-G991B", (2400, 1080), 8),
    ("Google", "google", "Pixel 8", (2400, 1080), 10),
    ("Google", "google", "Pixel 7 Pro", (3120, 1440), 6),
    ("Xiaomi", "Redmi", "23021RAAEG", (2400, 1080), 12),
    ("HUAWEI", "HUAWEI", "TAS-AN00", (2259, 1080), 8),
    ("OnePlus", "OnePlus", "CPH2449", (2412, 1080), 6),
    ("motorola", "motorola", "moto g54 5G", (2400, 1080), 6),
)
ANDROID_VERSIONS = (("14", 35), ("13", 30), ("12", 18), ("11", 10), ("10", 7))

IOS_DEVICES = (
    ("iPhone 15 Pro", (2556, 1179), 14),
    ("iPhone 15 Pro Max", (2796, 1290), 8),
    ("iPhone 15", (2556, 1179), 14),
    ("iPhone 14", (2532, 1170), 16),
    ("iPhone 13", (2532, 1170), 16),
    ("iPhone 12", (2532, 1170), 10),
    ("iPhone SE (3rd generation)", (1334, 750), 6),
)
IOS_VERSIONS = (("17.5", 30), ("17.4", 25), ("17.2", 15), ("16.7", 20), ("16.6", 10))
# What URLSession puts in its default User-Agent for each iOS major version.
IOS_URLSESSION = {"16": ("1410.0.3", "22.6.0"), "17": ("1494.0.7", "23.5.0")}

# (user agent, screens as (height, width) in CSS pixels, is_mobile, weight)
BROWSERS = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        ((1080, 1920), (864, 1536), (1440, 2560), (768, 1366)),
        False,
        33,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
        ((900, 1440), (982, 1512), (1117, 1728)),
        False,
        14,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
        ((1080, 1920), (864, 1536)),
        False,
        8,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
        ((1080, 1920), (1440, 2560)),
        False,
        5,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
        ((915, 412), (873, 393), (800, 360)),
        True,
        22,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
        ((844, 390), (852, 393), (932, 430)),
        True,
        18,
    ),
)


@dataclass(frozen=True)
class DeviceProfile:
    """One simulated install (mobile) or browser (web) and the identifiers its SDK keeps."""

    platform: str
    unique_id: str
    device_id: str
    os_version: str | None
    make: str | None
    brand: str | None
    model: str | None
    locale: str
    carrier: str | None
    network_type: str | None
    screen_height: int
    screen_width: int
    zone_offset: int
    system_language: str
    country_code: str
    app_version: str | None
    user_agent: str
    # isCompressEvents of the SDK configuration; the web SDK never compresses.
    compress: bool
    # Install source (_channel); mobile only.
    channel: str | None = None
    host_name: str | None = None
    viewport_height: int | None = None
    viewport_width: int | None = None

    @property
    def uppercase_ids(self) -> bool:
        # Foundation's UUID().uuidString is upper case; Java and JavaScript UUIDs are lower case.
        return self.platform == "iOS"

    def envelope(self, app: App) -> dict[str, object]:
        """The top-level keys of every event from this device, in the Android SDK's order.

        `event_type`, `event_id` and `timestamp` are placeholders the recorder overwrites, so
        a copy of this dict keeps the key order without re-inserting keys.
        """
        mobile = self.platform in MOBILE_PLATFORMS
        envelope: dict[str, object] = {
            "unique_id": self.unique_id,
            "event_type": None,
            "event_id": None,
            "app_id": app.app_id,
            "timestamp": None,
            "device_id": self.device_id,
            # The advertising id; empty unless the user granted tracking, which the SDKs default to.
            "device_unique_id": "",
            "platform": self.platform,
            "os_version": self.os_version,
            "make": self.make,
            "brand": self.brand,
            "model": self.model,
            "locale": self.locale,
            "carrier": self.carrier,
            "network_type": self.network_type,
            "screen_height": self.screen_height,
            "screen_width": self.screen_width,
            "zone_offset": self.zone_offset,
            "system_language": self.system_language,
            "country_code": self.country_code,
            "sdk_version": SDK_VERSIONS[self.platform],
            "sdk_name": SDK_NAME,
            "app_version": self.app_version,
            "app_package_name": package_name(app) if mobile else None,
            "app_title": app.name if mobile else None,
        }
        if not mobile:
            envelope["host_name"] = self.host_name
            envelope["viewport_height"] = self.viewport_height
            envelope["viewport_width"] = self.viewport_width
        return envelope


def package_name(app: App) -> str:
    return app.package_name or f"com.example.{app.app_id.lower()}"


def web_host(app: App) -> str:
    return re.sub(r"[^a-z0-9]+", "-", app.app_id.lower()).strip("-") + ".example.com"


def draw_profile(rng: random.Random, app: App, platform: str, *, uncompressed_share: float) -> DeviceProfile:
    country = weighted(rng, [(c, c.weight) for c in COUNTRIES])
    zone_offset = int(rng.choice(country.zone_offsets_hours) * 3_600_000)
    if platform == "Android":
        return _android(rng, app, country, zone_offset, uncompressed_share)
    if platform == "iOS":
        return _ios(rng, app, country, zone_offset, uncompressed_share)
    if platform == "Web":
        return _web(rng, app, country, zone_offset)
    raise ValueError(f"unknown platform {platform!r}")


def _android(rng: random.Random, app: App, country: Country, zone_offset: int, uncompressed_share: float) -> DeviceProfile:
    make, brand, model, (height, width), _ = weighted(rng, [(d, d[-1]) for d in ANDROID_DEVICES])
    os_version = weighted(rng, ANDROID_VERSIONS)
    # Locale.toString() adds the script for Chinese ("zh_CN_#Hans", as in the SDK sample).
    locale = f"{country.language}_{country.code}" + ("_#Hans" if country.language == "zh" else "")
    user_agent = f"amplify-android/2.14.11 (Android {os_version}; {make} {model}; {country.language}_{country.code})"
    return DeviceProfile(
        platform="Android",
        unique_id=uuid_from(rng),
        # Settings.Secure.ANDROID_ID: 64 bits as 16 hex digits.
        device_id=f"{rng.getrandbits(64):016x}",
        os_version=os_version,
        make=make,
        brand=brand,
        model=model,
        locale=locale,
        carrier=rng.choice(country.carriers),
        network_type=weighted(rng, (("WIFI", 60), ("Mobile", 38), ("UNKNOWN", 2))),
        screen_height=height,
        screen_width=width,
        zone_offset=zone_offset,
        system_language=country.language,
        country_code=country.code,
        app_version=weighted(rng, APP_VERSIONS),
        user_agent=user_agent,
        compress=rng.random() >= uncompressed_share,
        channel=weighted(rng, INSTALL_CHANNELS["Android"]),
    )


def _ios(rng: random.Random, app: App, country: Country, zone_offset: int, uncompressed_share: float) -> DeviceProfile:
    model, (height, width), _ = weighted(rng, [(d, d[-1]) for d in IOS_DEVICES])
    os_version = weighted(rng, IOS_VERSIONS)
    cfnetwork, darwin = IOS_URLSESSION[os_version.split(".")[0]]
    executable = re.sub(r"[^A-Za-z0-9]", "", app.name) or "App"
    return DeviceProfile(
        platform="iOS",
        unique_id=uuid_from(rng).upper(),
        # identifierForVendor: a UUID string.
        device_id=uuid_from(rng).upper(),
        os_version=os_version,
        make="apple",
        brand="apple",
        model=model,
        locale=f"{country.language}_{country.code} (current)",
        # iOS 16 and later no longer expose the carrier name.
        carrier="UNKNOWN",
        network_type=weighted(rng, (("WIFI", 65), ("Mobile", 35))),
        screen_height=height,
        screen_width=width,
        zone_offset=zone_offset,
        system_language=country.language,
        country_code=country.code,
        app_version=weighted(rng, APP_VERSIONS),
        user_agent=f"{executable}/1 CFNetwork/{cfnetwork} Darwin/{darwin}",
        compress=rng.random() >= uncompressed_share,
        channel=weighted(rng, INSTALL_CHANNELS["iOS"]),
    )


def _web(rng: random.Random, app: App, country: Country, zone_offset: int) -> DeviceProfile:
    user_agent, screens, is_mobile, _ = weighted(rng, [(b, b[-1]) for b in BROWSERS])
    height, width = rng.choice(screens)
    # The browser chrome (tabs, address bar, toolbars) takes this much of the screen.
    viewport_height = height - (rng.randint(100, 180) if is_mobile else rng.randint(80, 160))
    viewport_width = width if is_mobile else width - rng.randint(0, 20)
    return DeviceProfile(
        platform="Web",
        unique_id=uuid_from(rng),
        device_id=uuid_from(rng),
        os_version=None,
        make=None,
        brand=None,
        model=None,
        locale=f"{country.language}-{country.code}",
        carrier=None,
        network_type=None,
        screen_height=height,
        screen_width=width,
        zone_offset=zone_offset,
        system_language=country.language,
        country_code=country.code,
        app_version=None,
        user_agent=user_agent,
        compress=False,
        host_name=web_host(app),
        viewport_height=viewport_height,
        viewport_width=viewport_width,
    )
