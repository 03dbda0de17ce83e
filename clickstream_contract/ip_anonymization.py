"""IP anonymisation: what is kept of a client address when a project must not store it whole
(`pipeline.ingestion.ip_anonymization`).

`truncate` keeps the network part and zeroes the rest, as Google Analytics' IP anonymisation
does: the first 24 bits of an IPv4 address (the last octet goes), the first 48 bits of an IPv6
address (the last 80 go; 48 bits is typically the site prefix a provider routes to one customer,
one household or office among tens of thousands of others):

| address                       | truncated            |
| ----------------------------- | -------------------- |
| 203.0.113.9                   | 203.0.113.0          |
| 2001:db8:1234:5678::1         | 2001:db8:1234::      |
| ::ffff:203.0.113.9            | 203.0.113.0          |
| [2001:db8:1234:5678::1]:443   | 2001:db8:1234::      |
| fe80::1%eth0                  | fe80::               |
| unknown, garbage, empty       | None                 |

An IPv4 client seen through a dual-stack socket or proxy (`::ffff:a.b.c.d`) is an IPv4 address
and loses its last octet: keeping 48 bits of the mapped form would keep nothing at all, and
the same client would look different depending on the proxy's socket. A value that is no
address is None, never stored as it came: it could be anything the client wrote.
"""

from __future__ import annotations

from typing import Literal

from clickstream_contract.client_ip import address_of

IpAnonymization = Literal["none", "truncate"]
IPV4_KEPT_BITS = 24
IPV6_KEPT_BITS = 48


def anonymize_ip(address: str | None, anonymization: IpAnonymization) -> str | None:
    """`address` as the project may store it: as it is (`none`) or truncated."""
    if anonymization == "none":
        return address
    return truncate_ip(address)


def truncate_ip(address: str | None) -> str | None:
    """The network part of `address` (see the table above), as normalized text; None when
    `address` is no IP address (an address with a port or in brackets is one)."""
    parsed = address_of(address) if address else None
    if parsed is None:
        return None
    bits = parsed.max_prefixlen
    kept = IPV4_KEPT_BITS if parsed.version == 4 else IPV6_KEPT_BITS
    mask = ((1 << kept) - 1) << (bits - kept)
    # Built from the integer: a zone (`%eth0`, a name on the client's own machine) is not kept.
    return str(type(parsed)(int(parsed) & mask))
