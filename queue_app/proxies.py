"""Requests that come through the clinic's reverse proxy: believe its forwarded headers, nobody else's.

Behind nginx, the server sees nginx's address and plain http.  The proxy says who the client
was and whether they used https in ``X-Forwarded-For`` and ``X-Forwarded-Proto``; Werkzeug's
``ProxyFix`` applies them.  But anyone can send those headers, so they count only for requests
whose connection comes from an address in ``[server] trusted_proxies``: a patient's phone
cannot claim to be https (or another address) by saying so.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address

from werkzeug.middleware.proxy_fix import ProxyFix


class TrustedProxies:
    """WSGI middleware: ``ProxyFix`` (one proxy hop) for requests from a trusted proxy only."""

    def __init__(self, wsgi_app, trusted: tuple[IPv4Network | IPv6Network, ...]) -> None:
        self.wsgi_app = wsgi_app
        self.trusted = trusted
        self.behind_proxy = ProxyFix(wsgi_app, x_for=1, x_proto=1)

    def from_trusted_proxy(self, remote_addr: str | None) -> bool:
        """True when the connection comes from one of the trusted proxies."""
        try:
            address = ip_address(remote_addr or "")
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    def __call__(self, environ, start_response):
        if self.from_trusted_proxy(environ.get("REMOTE_ADDR")):
            return self.behind_proxy(environ, start_response)
        return self.wsgi_app(environ, start_response)
