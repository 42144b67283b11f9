"""Where patients' links point: the configured address, an allowed host, or the address served.

A forged ``Host`` header never reaches a link, and a base that only this computer can open
is flagged so that ``serve``, the kiosk and the staff console can warn.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest

from queue_app.config import EXAMPLE_CONFIG, ConfigError, load_settings
from queue_app.links import choose_link_base, host_allowed, is_loopback, machine_address, parse_host

CLINIC_LAN = "192.168.0.10"


def no_machine_lookup():
    raise AssertionError("the machine's address was looked up although the decision did not need it")


def decide(**given):
    """The decision with a clinic on a LAN: no public_url, no allowed hosts, served on every interface."""
    options = {
        "public_url": "",
        "allowed_hosts": (),
        "asked_host": "127.0.0.1:5000",
        "scheme": "http",
        "listen_host": "0.0.0.0",
        "port": 5000,
        "machine_address": lambda: CLINIC_LAN,
    }
    return choose_link_base(**{**options, **given})


def test_the_configured_public_url_wins_over_everything():
    base = decide(
        public_url="https://queue.example-clinic.kr",
        allowed_hosts=("kiosk.clinic.lan",),
        asked_host="kiosk.clinic.lan",
        machine_address=no_machine_lookup,
    )
    assert (base.url, base.loopback, base.reason) == ("https://queue.example-clinic.kr", False, "public_url")


def test_a_public_url_on_this_computer_is_still_flagged():
    assert decide(public_url="http://localhost:5000").loopback is True
    assert decide(public_url="http://[::1]:5000").loopback is True


def test_an_allowed_host_the_request_came_to_is_used_with_its_port():
    base = decide(
        allowed_hosts=("queue.clinic.lan",), asked_host="Queue.Clinic.LAN:8000", machine_address=no_machine_lookup
    )
    assert (base.url, base.loopback, base.reason) == ("http://queue.clinic.lan:8000", False, "allowed_host")


def test_an_allowed_host_keeps_the_request_scheme_and_drops_its_default_port():
    base = decide(allowed_hosts=("queue.clinic.lan:443",), asked_host="queue.clinic.lan", scheme="https")
    assert base.url == "https://queue.clinic.lan"


def test_an_allowed_host_with_a_port_allows_that_port_only():
    base = decide(allowed_hosts=("queue.clinic.lan:5000",), asked_host="queue.clinic.lan:6000")
    assert base.reason == "machine_address"


@pytest.mark.parametrize(
    "forged",
    [
        "evil.example",
        "evil.example:5000",
        "queue.clinic.lan.evil.example",
        "queue.clinic.lan@evil.example",
        "evil.example/queue.clinic.lan",
        "queue.clinic.lan:5000/../evil",
        "",
    ],
)
def test_a_forged_host_is_ignored_for_the_machine_address(forged):
    base = decide(allowed_hosts=("queue.clinic.lan",), asked_host=forged)
    assert (base.url, base.loopback, base.reason) == (f"http://{CLINIC_LAN}:5000", False, "machine_address")
    assert "evil" not in base.url


def test_the_host_the_kiosk_used_is_not_trusted_without_being_allowed():
    # `make run` on the clinic's PC: the kiosk opened http://127.0.0.1:5000, the server listens on all.
    base = decide(asked_host="127.0.0.1:5000")
    assert base.url == f"http://{CLINIC_LAN}:5000" and not base.loopback


def test_a_server_listening_on_loopback_gives_loopback_links_and_says_so():
    # Another address of the machine would not reach a server that listens on 127.0.0.1 only.
    base = decide(listen_host="127.0.0.1", machine_address=no_machine_lookup)
    assert (base.url, base.loopback, base.reason) == ("http://127.0.0.1:5000", True, "listen_address")


def test_a_server_listening_on_one_address_uses_it():
    base = decide(listen_host="10.1.2.3", port=8000, machine_address=no_machine_lookup)
    assert (base.url, base.loopback) == ("http://10.1.2.3:8000", False)


@pytest.mark.parametrize("wildcard", ["0.0.0.0", "::", None])
def test_every_interface_or_an_unknown_one_means_the_machine_address(wildcard):
    assert decide(listen_host=wildcard).url == f"http://{CLINIC_LAN}:5000"


def test_a_machine_without_a_network_address_falls_back_to_loopback_and_flags_it():
    base = decide(machine_address=lambda: None)
    assert (base.url, base.loopback, base.reason) == ("http://127.0.0.1:5000", True, "no_address")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("LOCALHOST:5000", True),
        ("kiosk.localhost", True),
        ("[::1]:5000", True),
        ("::1", True),
        ("192.168.0.10:5000", False),
        ("queue.clinic.lan", False),
        ("not a host", False),
    ],
)
def test_which_hosts_only_this_computer_can_open(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("queue.clinic.lan", ("queue.clinic.lan", None)),
        ("Queue.Clinic.Lan:8000", ("queue.clinic.lan", 8000)),
        ("192.168.0.10:5000", ("192.168.0.10", 5000)),
        ("[fe80::1]:5000", ("[fe80::1]", 5000)),
    ],
)
def test_hosts_are_read_as_host_and_port(text, parsed):
    assert parse_host(text) == parsed


@pytest.mark.parametrize(
    "text", ["http://queue.clinic.lan", "queue.clinic.lan/path", "a b", "host:99999", "host:", "[nope]:80", "x@y"]
)
def test_what_is_not_a_host_is_refused(text):
    with pytest.raises(ValueError):
        parse_host(text)


def test_host_allowed_answers_the_request_host_not_the_entry():
    assert host_allowed("QUEUE.clinic.lan:5000", ["queue.clinic.lan"]) == ("queue.clinic.lan", 5000)
    assert host_allowed("other.lan", ["queue.clinic.lan"]) is None


def test_the_machine_address_is_a_non_loopback_ipv4_address_of_this_machine():
    address = machine_address()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")
    ip = ipaddress.IPv4Address(address)
    assert not ip.is_loopback and not ip.is_link_local
    # It is one of this machine's own: a socket can listen on it.
    with socket.socket() as sock:
        sock.bind((address, 0))


# -- configuration -------------------------------------------------------------------------------


def test_allowed_hosts_are_read_and_normalised():
    settings = load_settings(
        EXAMPLE_CONFIG, overrides={"server": {"allowed_hosts": ["Queue.Clinic.LAN", "192.168.0.10:5000"]}}, environ={}
    )
    assert settings.allowed_hosts == ("queue.clinic.lan", "192.168.0.10:5000")
    assert load_settings(EXAMPLE_CONFIG, environ={}).allowed_hosts == ()


def test_allowed_hosts_come_from_the_environment_comma_separated():
    settings = load_settings(
        EXAMPLE_CONFIG, environ={"QUEUE_APP_SERVER_ALLOWED_HOSTS": "queue.clinic.lan, 192.168.0.10:5000"}
    )
    assert settings.allowed_hosts == ("queue.clinic.lan", "192.168.0.10:5000")


@pytest.mark.parametrize(
    "value", [["http://queue.clinic.lan"], ["queue.clinic.lan/staff"], ["host:0"], [5000], "queue lan", {"a": 1}]
)
def test_bad_allowed_hosts_name_the_key(value):
    with pytest.raises(ConfigError) as error:
        load_settings(EXAMPLE_CONFIG, overrides={"server": {"allowed_hosts": value}}, environ={})
    assert error.value.key == "[server] allowed_hosts"
    assert "[server] allowed_hosts" in str(error.value)
