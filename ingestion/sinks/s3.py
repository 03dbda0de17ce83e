"""S3 destination: each sealed spool segment becomes one object in the raw lake, unchanged.

The object key is `<prefix>year=YYYY/month=MM/day=DD/hour=HH/<stem>.gz` (DATA_CONTRACT §3).
The stem is stable across retries, so shipping a segment again after a crash overwrites the
object with identical bytes instead of adding a duplicate. (In a versioned bucket a retry adds
a noncurrent version of the same content; a lifecycle rule for noncurrent versions clears it.)
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ingestion.sinks.destination import DestinationError, SealedSegment
from ingestion.sinks.layout import partition_path, sealed_name

# A segment is at most buffer_size_mib (50 MiB) and the spool keeps it while S3 is away, so an
# outage should fail within seconds rather than hold the shipper: 5 s to connect, 3 attempts
# in all (botocore's standard mode waits at most 1 + 2 s between them). The read timeout bounds
# each socket operation, not the upload; 30 s only trips on a server that stopped answering.
CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=30,
    retries={"mode": "standard", "max_attempts": 3},
)
_PLAIN_MD5_ETAG = re.compile(r'^"?([0-9a-f]{32})"?$')
# Server-side encryption whose ETag is the MD5 of the content (none or SSE-S3). With SSE-KMS
# and SSE-C the ETag is something else, and comparing it would fail every upload.
_MD5_ETAG_ENCRYPTION = {None, "AES256"}


class S3Destination:
    """Uploads each segment's gzip bytes with one PutObject.

    `client` is for tests and callers that share a configured boto3 client; otherwise one is
    created here from the usual AWS credential chain and closed by `close()`.
    """

    kind = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str,
        *,
        client: BaseClient | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        if prefix and not prefix.endswith("/"):
            raise ValueError(f"S3 key prefix must end with '/', got {prefix!r}")
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.endpoint_url = endpoint_url
        self._owns_client = client is None
        self._client = client or boto3.session.Session().client("s3", region_name=region, endpoint_url=endpoint_url, config=CLIENT_CONFIG)

    def key_for(self, segment: SealedSegment) -> str:
        return f"{self.prefix}{partition_path(segment.hour)}/{sealed_name(segment.stem)}"

    def ship(self, segment: SealedSegment) -> None:
        key = self.key_for(segment)
        body = segment.gzip_bytes()
        md5 = hashlib.md5(body)
        try:
            # Content-MD5 makes S3 itself reject a body damaged on the way (BadDigest), whatever
            # the bucket's encryption. No Content-Encoding: readers expect a .gz object.
            response = self._client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentMD5=base64.b64encode(md5.digest()).decode("ascii"),
                ContentType="application/gzip",
            )
        except ClientError as error:
            details = error.response.get("Error", {})
            code = details.get("Code", "unknown")
            raise DestinationError(f"S3 upload to s3://{self.bucket}/{key} failed: {code}: {details.get('Message') or error}") from error
        except BotoCoreError as error:
            raise DestinationError(f"S3 upload to s3://{self.bucket}/{key} failed: {error}") from error
        self._check_etag(response, md5.hexdigest(), key)

    def _check_etag(self, response: dict[str, Any], md5_hex: str, key: str) -> None:
        """A second integrity check for stores that ignore Content-MD5. Only plain MD5 ETags are
        compared, so SSE-KMS buckets and stores with other ETag schemes are not refused."""
        if response.get("SSECustomerAlgorithm") or response.get("ServerSideEncryption") not in _MD5_ETAG_ENCRYPTION:
            return
        match = _PLAIN_MD5_ETAG.match(response.get("ETag") or "")
        if match and match.group(1) != md5_hex:
            raise DestinationError(f"S3 upload to s3://{self.bucket}/{key} returned ETag {match.group(1)}, expected MD5 {md5_hex}")

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "bucket": self.bucket,
            "prefix": self.prefix,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
        }
