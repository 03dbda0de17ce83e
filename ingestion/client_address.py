"""The client address ingestion writes down: in the raw record's `ip` and in the access log.

Without anonymisation (`ip_anonymization: none`) the record keeps the raw `X-Forwarded-For`
value, all hops, or the socket peer without one (DATA_CONTRACT §3: processing picks the client
out of it), and the log the client chosen behind `trusted_proxies`.

With `truncate` the client is chosen first, by the same rule (clickstream_contract/client_ip.py),
then truncated (clickstream_contract/ip_anonymization.py), and that one address is all that is
written, in the record and in the log. The header is not kept: its other entries are full
addresses too (a forged one, a corporate proxy's inside address, the proxies' own). Processing
reads a one-address `ip` as that address, whatever `trusted_proxies` says (a chain of one is its
own leftmost entry), so the IP enrichment looks up the truncated client.
"""

from __future__ import annotations

from dataclasses import dataclass

from clickstream_contract.client_ip import client_ip
from clickstream_contract.ip_anonymization import IpAnonymization, anonymize_ip, truncate_ip
from clickstream_project.config import IngestionSettings
from ingestion import metrics


@dataclass(frozen=True, slots=True)
class ClientAddresses:
    trusted_proxies: int
    anonymization: IpAnonymization

    @classmethod
    def from_settings(cls, settings: IngestionSettings) -> ClientAddresses:
        return cls(settings.trusted_proxies, settings.ip_anonymization)

    def recorded(self, forwarded_for: str | None, peer: str | None) -> str | None:
        """The raw record's `ip`."""
        if self.anonymization == "none":
            return forwarded_for or peer
        client = client_ip(forwarded_for, peer, self.trusted_proxies)
        truncated = truncate_ip(client)
        if truncated is None and client:
            # Only a peer can be no address (client_ip falls back to it from a bad header entry):
            # a server on a Unix socket behind a proxy that passes no header. Null, and counted.
            metrics.observe_unusable_client_address()
        return truncated

    def logged(self, forwarded_for: str | None, peer: str | None) -> str | None:
        """The access log's `client_ip`."""
        return anonymize_ip(client_ip(forwarded_for, peer, self.trusted_proxies), self.anonymization)
