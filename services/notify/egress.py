"""Where webhooks may go: http(s) only, to a public address only — never to one of the IANA special-purpose
addresses (IPv4 and IPv6: private, shared, loopback, link-local, documentation, benchmarking, 6to4, NAT64,
Teredo, unique-local …), multicast or a cloud's metadata service; to loopback only where a setting
explicitly allows it (the test stack's own receivers).

A bureau admin chooses the URL, but the delivery worker runs inside the platform's network: unchecked, a
webhook could POST to the cloud's metadata service (169.254.169.254, 168.63.129.16, 100.100.100.200) or to
services listening on the worker's own host. The address is checked when a webhook is configured and again
on every connection, against what the name resolves to at that moment — and the connection is made to the
address that was checked, so a DNS answer that changes in between (rebinding) cannot slip past. Odd
spellings (``0x7f.1``, ``2130706433``, ``localhost.``, ``[::ffff:127.0.0.1]``) are resolved before the check.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMES = ("http", "https")
# The IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and its updates), whole — including the
# entries marked globally reachable (192.0.0.9, the AS112 and 6to4 relay blocks, NAT64 …): none of them is a
# bureau's receiver, and several lead back into some network.
SPECIAL_PURPOSE = tuple(ipaddress.ip_network(network) for network in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
    "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "100:0:0:1::/64",
    "2001::/23", "2001:db8::/32", "2002::/16", "2620:4f:8000::/48", "3fff::/20", "5f00::/16", "fc00::/7",
    "fe80::/10", "fec0::/10"))
MULTICAST = (ipaddress.ip_network("224.0.0.0/4"), ipaddress.ip_network("ff00::/8"))
# Metadata services at ordinary-looking addresses (the others sit inside the special-purpose blocks).
METADATA = (ipaddress.ip_network("168.63.129.16/32"),)  # Azure's wire server

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """The webhook's URL or the address its name resolves to is not an allowed receiver."""


@dataclass(frozen=True)
class EgressPolicy:
    allow_loopback: bool = False

    def refusal(self, address: Address) -> str | None:
        """Why a webhook may not connect to ``address``, or None if it may."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if address.is_loopback:
            return None if self.allow_loopback else "a loopback address"
        if any(address in network for network in METADATA):
            return "a cloud metadata address"
        if any(address in network for network in SPECIAL_PURPOSE + MULTICAST):
            return "a special-purpose address, not a public receiver"
        return None

    def target(self, url: str) -> tuple[str, int]:
        """The host and port of an http(s) URL; refuse any other scheme."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in SCHEMES:
            raise AddressRefused(f"a webhook must be an http or https URL, not {parts.scheme or 'none'}")
        try:
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        except ValueError:
            raise AddressRefused("the URL's port is not a number") from None
        if not parts.hostname:
            raise AddressRefused("the URL names no host")
        return parts.hostname.rstrip("."), port  # "localhost." is localhost

    def resolve(self, host: str, port: int) -> list[str]:
        """Every address ``host`` resolves to, all allowed (else ``AddressRefused``; ``OSError`` if none)."""
        addresses = []
        for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
            text = str(sockaddr[0]).split("%", 1)[0]
            reason = self.refusal(ipaddress.ip_address(text))
            if reason:
                raise AddressRefused(f"{host} resolves to {text}, {reason}")
            addresses.append(str(sockaddr[0]))
        return list(dict.fromkeys(addresses))

    def check_configured(self, url: str) -> None:
        """At configuration: refuse a forbidden scheme or address; a name that does not resolve yet may wait."""
        host, port = self.target(url)
        try:
            self.resolve(host, port)
        except OSError:
            pass  # the receiver's name may not exist yet; every delivery checks it again

    def create_connection(self, address: tuple[str, int], timeout=socket._GLOBAL_DEFAULT_TIMEOUT,
                          source_address=None) -> socket.socket:
        """``socket.create_connection``, to an address of the host that the policy allows."""
        host, port = address
        last_error: OSError | None = None
        for resolved in self.resolve(host, port):
            try:
                return socket.create_connection((resolved, port), timeout, source_address)
            except OSError as error:
                last_error = error
        raise last_error or OSError(f"{host} has no address")
