"""Where patients' links point: the base address in QR codes, ticket links and messages.

A link is only worth printing if the patient's phone can open it.  The address a request
came to is not good enough on its own: the kiosk usually runs on the server's own machine
(``http://127.0.0.1:5000``, which a phone cannot reach), and the ``Host`` header is whatever
the sender wrote, so trusting it would let anyone put their own site into patients' links
and messages.  The base is therefore, in this order:

1. ``[server] public_url`` when it is set;
2. the host the request was sent to, only when it is listed in ``[server] allowed_hosts``;
3. the address the server listens on: a loopback address stays loopback (a phone could not
   reach the server on any other address), a specific address is used as it is, and a
   wildcard (``0.0.0.0``) means this machine's first non-loopback IPv4 address;
4. loopback, when the machine has no other address: the links then work on this computer
   only, and ``loopback`` says so, so that ``serve``, the kiosk and the staff console warn.

The decision is pure (``choose_link_base``); ``machine_address`` reads the network
interfaces without sending anything anywhere.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

#: Addresses a server listening on them can be reached on through every interface.
WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")
DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9a-f:.]+\]|[^:\[\]]+)(?::(?P<port>[0-9]{1,5}))?$")
# Linux ioctls for one interface's flags and IPv4 address (linux/sockios.h, linux/if.h).
_SIOCGIFFLAGS, _SIOCGIFADDR = 0x8913, 0x8915
_IFF_UP, _IFF_LOOPBACK = 0x1, 0x8


@dataclass(frozen=True)
class LinkBase:
    """The base of patients' links, and whether a phone could open it.

    ``reason`` says which rule chose it (``public_url``, ``allowed_host``, ``listen_address``,
    ``machine_address``, ``no_address``), for the start-up message and for tests.
    """

    url: str
    loopback: bool
    reason: str


def parse_host(text: str) -> tuple[str, int | None]:
    """``host`` or ``host:port`` as (lower-case host, port or None); ValueError when it is neither.

    IPv6 addresses are written in brackets (``[fe80::1]:5000``) and kept with them.
    """
    match = _HOST_PORT.match(text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r} is not a host or host:port")
    host, port = match["host"], match["port"]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{text!r} has no valid IPv6 address in its brackets") from None
    elif not _HOSTNAME.match(host):
        raise ValueError(f"{text!r} is not a host name or IPv4 address")
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} has a port outside 1-65535")
    return host.rstrip("."), int(port) if port is not None else None


def is_loopback(host: str) -> bool:
    """Does ``host`` (a name or address, with or without a port) name this computer only?"""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        name, _ = parse_host(host)
    except ValueError:
        return False
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def host_allowed(asked: str, allowed: Sequence[str], scheme: str = "http") -> tuple[str, int | None] | None:
    """The request's host as (host, port) when ``allowed`` lists it, else None.

    An entry without a port allows the host on any port; one with a port only on that port
    (a request without one is on the scheme's default port).
    """
    try:
        host, port = parse_host(asked)
    except ValueError:
        return None
    effective = port if port is not None else DEFAULT_PORTS.get(scheme)
    for entry in allowed:
        try:
            allowed_host, allowed_port = parse_host(entry)
        except ValueError:
            continue
        if allowed_host == host and (allowed_port is None or allowed_port == effective):
            return host, port
    return None


def _url(scheme: str, host: str, port: int | None) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if port is None or DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def choose_link_base(
    *,
    public_url: str,
    allowed_hosts: Sequence[str],
    asked_host: str | None,
    scheme: str,
    listen_host: str | None,
    port: int,
    machine_address: Callable[[], str | None],
) -> LinkBase:
    """Decide the base of patients' links (see the module's docstring for the order).

    ``asked_host`` is the request's ``Host`` (None outside a request); ``listen_host`` the
    address the server listens on (None when unknown, as under another WSGI server: then
    it is taken to listen on every interface); ``machine_address`` is only called when
    the machine's address is what decides.
    """
    if public_url:
        return LinkBase(public_url, is_loopback(urlsplit(public_url).hostname or ""), "public_url")
    if asked_host:
        allowed = host_allowed(asked_host, allowed_hosts, scheme)
        if allowed is not None:
            host, asked_port = allowed
            return LinkBase(_url(scheme, host, asked_port), is_loopback(host), "allowed_host")
    listen = (listen_host or "").strip()
    if listen not in WILDCARD_HOSTS:
        # Listening on one address: only that one reaches the server, loopback or not.
        return LinkBase(_url(scheme, listen, port), is_loopback(listen), "listen_address")
    address = machine_address()
    if address:
        return LinkBase(_url(scheme, address, port), False, "machine_address")
    return LinkBase(_url(scheme, "127.0.0.1", port), True, "no_address")


# -- this machine's addresses --------------------------------------------------------------------


def _usable(address: str) -> bool:
    ip = ipaddress.IPv4Address(address)
    return not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast)


def _default_route_interfaces(route_table: Path = Path("/proc/net/route")) -> list[str]:
    """Interfaces that carry a default route (Linux), best metric first: the clinic's network."""
    try:
        lines = route_table.read_text().splitlines()[1:]
    except OSError:
        return []
    routes = []
    for line in lines:
        fields = line.split()
        if len(fields) >= 7 and fields[1] == "00000000":
            routes.append((int(fields[6]), fields[0]))
    return [name for _, name in sorted(routes)]


def _interface_addresses() -> list[tuple[str, str]]:
    """(interface, IPv4 address) of every interface that is up and not loopback (Linux)."""
    import fcntl  # POSIX only; elsewhere machine_address falls back to the host name

    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                flags = struct.unpack("H", fcntl.ioctl(sock.fileno(), _SIOCGIFFLAGS, request)[16:18])[0]
                if not flags & _IFF_UP or flags & _IFF_LOOPBACK:
                    continue
                address = socket.inet_ntoa(fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, request)[20:24])
            except OSError:  # no IPv4 address on this interface
                continue
            if _usable(address):
                found.append((name, address))
    return found


#: How long the machine's address is taken as known (it is asked on every request).
ADDRESS_SECONDS = 30.0
_address_cache: tuple[float, str | None] | None = None


def machine_address() -> str | None:
    """This machine's first usable non-loopback IPv4 address, or None when it has none.

    Looked up at most every ``ADDRESS_SECONDS``: a DHCP lease that moves the address is
    followed within half a minute, and a busy check-in desk does not ask the kernel each time.
    """
    global _address_cache
    now = time.monotonic()
    if _address_cache is None or now - _address_cache[0] > ADDRESS_SECONDS:
        _address_cache = (now, _look_up_machine_address())
    return _address_cache[1]


def _look_up_machine_address() -> str | None:
    """Read from the interfaces themselves (the one with the default route first), so nothing
    is sent anywhere; where that is not possible, from the addresses of the host name."""
    try:
        found = _interface_addresses()
    except (OSError, AttributeError, ImportError):  # not Linux
        found = []
    if found:
        preferred = _default_route_interfaces()
        found.sort(key=lambda item: preferred.index(item[0]) if item[0] in preferred else len(preferred))
        return found[0][1]
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return None
    return next((info[4][0] for info in infos if _usable(info[4][0])), None)
