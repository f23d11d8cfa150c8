"""Where webhooks may go: http(s) only, never to a link-local or cloud metadata address (unless the settings
allow it), to loopback only where the settings allow it (local receivers, tests).

A bureau admin chooses the URL, but the delivery worker runs inside the platform's network: unchecked, a
webhook could POST to the cloud's metadata service (169.254.169.254, Alibaba Cloud's 100.100.100.200) or to
services listening on the worker's own host. The address is checked when a webhook is configured and again
on every connection, against what the name resolves to at that moment — and the connection is made to the
address that was checked, so a DNS answer that changes in between (rebinding) cannot slip past.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMES = ("http", "https")
# Metadata services outside 169.254.0.0/16 (which the link-local check already covers).
METADATA_NETWORKS = (ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud
                     ipaddress.ip_network("fd00:ec2::254/128"))   # AWS over IPv6

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """The webhook's URL or the address its name resolves to is not an allowed receiver."""


@dataclass(frozen=True)
class EgressPolicy:
    allow_loopback: bool = True
    allow_link_local: bool = False

    def refusal(self, address: Address) -> str | None:
        """Why a webhook may not connect to ``address``, or None if it may."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if address.is_loopback:
            return None if self.allow_loopback else "a loopback address (BRANCHWORK_NOTIFY_WEBHOOK_ALLOW_LOOPBACK=0)"
        if address.is_unspecified or address.is_multicast or address.is_reserved:
            return "not a receiver's address"  # 0.0.0.0 would reach the worker's own host
        if address.is_link_local or any(address in network for network in METADATA_NETWORKS):
            return None if self.allow_link_local else "a link-local or cloud metadata address"
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
        return parts.hostname, port

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
