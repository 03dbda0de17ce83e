"""The client's address behind `trusted_proxies` load balancers or proxies (DATA_CONTRACT §4).

Each proxy appends the address it received the request from to `X-Forwarded-For`; whatever a
client puts there itself comes first and proves nothing. With N trusted proxies, the chain
`X-Forwarded-For entries + [socket peer]` ends with N addresses our proxies vouch for (the
peer is the innermost proxy), so the client is the entry N hops from the right end:

| trusted_proxies | X-Forwarded-For                    | peer     | client                           |
| --------------- | ---------------------------------- | -------- | -------------------------------- |
| 0               | anything                           | 10.0.0.1 | 10.0.0.1 (XFF ignored)           |
| 1               | 1.1.1.1                            | 10.0.0.1 | 1.1.1.1                          |
| 1               | 6.6.6.6, 1.1.1.1 (6.6.6.6 forged)  | 10.0.0.1 | 1.1.1.1                          |
| 2               | 1.1.1.1, 10.0.0.2                  | 10.0.0.1 | 1.1.1.1                          |
| 1               | absent or empty                    | 10.0.0.1 | 10.0.0.1 (the proxy's own probe) |
| 2               | 1.1.1.1 (shorter than 2)           | 10.0.0.1 | 1.1.1.1 (leftmost entry)         |
| 1               | unknown, garbage or an empty entry | 10.0.0.1 | 10.0.0.1                         |
| 1               | 1.1.1.1:5555 or [2001:db8::1]:443  | 10.0.0.1 | 1.1.1.1 or 2001:db8::1           |

A chain shorter than N means the request took a shorter path than configured (it reached an
inner proxy directly, or is a proxy's own probe): the leftmost entry is then the best guess,
right when the entries came from our proxies, forged when the client wrote one itself; nothing
in a short chain tells the two apart. An entry that is not an IP address ("unknown" from nginx,
obfuscated identifiers per RFC 7239, garbage) falls back to the socket peer, the one address
known to be real.

**Peer unknown: the processing job.** The raw record's `ip` (DATA_CONTRACT §3) holds the whole
header when the request had one, else the socket peer; a peer hidden behind a header is not
recorded. (Under `ip_anonymization: truncate` it holds the client chosen above, truncated: one
address, which the rule below reads as itself; ingestion/client_address.py.)
`recorded_client_ip` applies the same rule without the peer:

| trusted_proxies | recorded `ip`                      | client                                    |
| --------------- | ---------------------------------- | ----------------------------------------- |
| 1               | 6.6.6.6, 1.1.1.1 (6.6.6.6 forged)  | 1.1.1.1 (N from the right, as above)      |
| 2               | 1.1.1.1 (a short chain, or a peer) | 1.1.1.1 (leftmost entry: a peer is one)   |
| 1               | 1.1.1.1, unknown                   | none (no peer to fall back to)            |
| 0               | 1.1.1.1, 10.0.0.2                  | 1.1.1.1 (the first entry)                 |

With no proxies trusted the client would be the peer, which is not recorded when a header was:
the first entry stands in for it, as the contract says (also right for the AWS solution's
archives, which record the header the same way and know of no proxies).
"""

from __future__ import annotations

import ipaddress


def client_ip(forwarded_for: str | None, peer: str | None, trusted_proxies: int) -> str | None:
    """The client address as text (normalized: `2001:db8::1`, not `2001:DB8:0::1`)."""
    if trusted_proxies <= 0 or not forwarded_for:
        return peer
    # At most N splits from the right: a forged header of thousands of entries costs nothing.
    entries = forwarded_for.rsplit(",", trusted_proxies)
    candidate = entries[-trusted_proxies] if len(entries) > trusted_proxies else entries[0]
    return parse_address(candidate) or peer


def recorded_client_ip(recorded: str | None, trusted_proxies: int) -> str | None:
    """The client address of a raw record's `ip` field, whose peer is unknown (see above)."""
    if trusted_proxies > 0:
        # A recorded bare peer is a chain of one, its own leftmost entry.
        return client_ip(recorded, None, trusted_proxies)
    return parse_address(recorded.split(",", 1)[0]) if recorded else None


def parse_address(entry: str) -> str | None:
    """One X-Forwarded-For entry as an IP address, without port or brackets; None if it is none."""
    address = address_of(entry)
    return None if address is None else str(address)


def address_of(entry: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """`parse_address`, as the address object (for the code that computes with its bits)."""
    text = entry.strip().strip('"')
    if text.startswith("["):  # [v6] or [v6]:port
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # v4:port (a bare v6 address has at least two colons)
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # Dual-stack proxies write IPv4 clients as ::ffff:a.b.c.d; the log should say a.b.c.d.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address
