"""One SDK upload request as it goes over the wire (DATA_CONTRACT §1).

Android and Swift (with the default `isCompressEvents: true`) send the base64 text of the gzip
bytes of the JSON array, with `compression=gzip` and no Content-Encoding; with compression off
they send the plain array and an empty `compression=`. The web SDK sends the plain array and no
`compression` parameter at all. `hashCode` is the first 8 hex digits of the SHA-256 of the body
as sent.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass

CONTENT_TYPE = "application/json; charset=utf-8"
# java.util.zip.GZIPOutputStream compresses at zlib's default level.
GZIP_LEVEL = 6


@dataclass(frozen=True)
class SdkRequest:
    """A batch of events one device uploads in one POST."""

    app_id: str
    platform: str
    device_id: str
    # event_bundle_sequence_id: counts this device's uploads from 1.
    sequence_id: int
    compress: bool
    user_agent: str
    # The JSON array text, before any compression.
    payload: str
    event_count: int
    first_timestamp: int
    last_timestamp: int

    def body(self) -> bytes:
        return encode_body(self.payload, self.compress)

    def query(self, body: bytes, upload_timestamp: int) -> list[tuple[str, str]]:
        """Query parameters in the order the SDKs add them; `upload_timestamp` is the client clock."""
        params = [("platform", self.platform), ("appId", self.app_id)]
        if self.platform == "Web":
            params.append(("event_bundle_sequence_id", str(self.sequence_id)))
        else:
            params.append(("hashCode", hash_code(body)))
            params.append(("event_bundle_sequence_id", str(self.sequence_id)))
            params.append(("compression", "gzip" if self.compress else ""))
        params.append(("upload_timestamp", str(upload_timestamp)))
        if self.platform == "Web":
            params.append(("hashCode", hash_code(body)))
        return params

    def headers(self) -> dict[str, str]:
        return {"Content-Type": CONTENT_TYPE, "User-Agent": self.user_agent}

    def events(self) -> list[dict]:
        return json.loads(self.payload)


def encode_body(payload: str, compress: bool) -> bytes:
    data = payload.encode("utf-8")
    if not compress:
        return data
    # mtime=0 keeps the bytes, and so hashCode, identical across runs of the same seed.
    return base64.b64encode(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))


def decode_body(body: bytes, compression: str | None) -> str:
    """The JSON text of a body as the SDKs send it (the inverse of `encode_body`)."""
    if compression == "gzip":
        return gzip.decompress(base64.b64decode(body, validate=True)).decode("utf-8")
    return body.decode("utf-8")


def hash_code(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:8]


def json_array_size(event_sizes_sum: int, count: int) -> int:
    """Bytes of `[e1,e2,...]` given the summed sizes of its `count` elements."""
    return event_sizes_sum + 2 + max(count - 1, 0)
