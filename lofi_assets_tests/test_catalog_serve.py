"""``lofi catalog serve`` attacked as the outside world would (issue 18, defects by kind): real
HTTP requests to the real command over a small built site and a real warehouse. Only the
site's pages are served; a request naming another host, or a form posted from another site,
changes nothing; a malformed body gets a 4xx and leaves the server answering; an address that
could add a header or a recipient is refused; the list's states move only as the subscriber
asks; a requester's text cannot reach the operator's terminal; and concurrent requests each
get their own number."""

import concurrent.futures
import email
import email.policy
import http.client
import os
import re
import socket
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest

from lofi_assets.catalog import serve
from lofi_assets.catalog.licensing import LicenceRequest, LicenceRequestError, LicenceRequests
from lofi_assets.catalog.newsletter import NewsletterError, SubscriberList, subscriber_id
from lofi_assets.catalog.serve import site_server
from lofi_assets.catalog.site import CatalogSiteError, SiteSettings, write_index
from lofi_assets.publish.warehouse import Warehouse

pytestmark = pytest.mark.timeout(120)

HIDDEN = ".2026-11-25.tmp-abc"  # a release being written (atomic_directory's staging folder)
# Each would add a header, a recipient or a display name, or is no mailbox at all.
BAD_ADDRESSES = [
    "ada@example.com\r\nBcc: eve@example.net",
    "ada@example.com\nBcc:eve@example.net",
    "ada@example.com,eve@example.net",
    "Ada <ada@example.com>",
    '"ada lovelace"@example.com',
    "ada@example.com\x00",
    "adà@example.com",
    "ada@" + "b" * 250 + ".com",
    "a" * 65 + "@example.com",
    "ada@example..com",
    "ada@-example.com",
    "ada@example",
    "",
]


def _environment(data: Path) -> dict[str, str]:
    environment = {**os.environ, "LOFI_DATA_DIR": str(data)}
    for name in [n for n in environment if n.startswith(("LOFI_SMTP_", "LOFI_WAREHOUSE"))]:
        del environment[name]  # confirmations as .eml files: no SMTP server is needed
    return environment


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """An empty built site (index, licences, packs pages), a half-written release beside it,
    a published pack folder, and `lofi catalog serve` on a free port."""
    data = tmp_path_factory.mktemp("serve") / "data"
    site = data / "catalog_site"
    write_index(site, SiteSettings("Lofi Empire", "Lofi Empire", "http://127.0.0.1:8765/"))
    (site / HIDDEN).mkdir()
    (site / HIDDEN / "index.html").write_text("half-written")
    (site / ".2026-11-25.lock").write_text("")
    (site / "packs" / "2026-11-15").mkdir(parents=True)
    (site / "packs" / "2026-11-15" / "sample_pack_2026-11-15.zip").write_bytes(b"PK")
    (data / "secret.txt").write_text("outside the site")
    server = subprocess.Popen(
        [sys.executable, "-m", "lofi_assets.cli", "catalog", "serve", "--port", "0"],
        env=_environment(data), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = server.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line + server.stderr.read()
        yield {"data": data, "port": int(match.group(1)), "server": server}
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
        assert "Traceback" not in stderr, stderr  # every request got an answer


def _request(served, method, path, body=b"", headers=None):
    """(status, body text) of one request; Host is the server's unless ``headers`` says."""
    connection = http.client.HTTPConnection("127.0.0.1", served["port"], timeout=10)
    try:
        headers = {"Host": f"127.0.0.1:{served['port']}", **(headers or {})}
        if method == "POST":
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            headers.setdefault("Content-Length", str(len(body)))
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def _post(served, path, fields, headers=None):
    return _request(served, "POST", path, urllib.parse.urlencode(fields).encode(), headers)


def _subscribers(served) -> SubscriberList:
    return SubscriberList(Warehouse(str(served["data"] / "warehouse.duckdb")))


def _confirmations(served) -> dict[str, str]:
    """The dry run's confirmation mails by subscriber id: their text."""
    folder = served["data"] / "newsletter" / "confirmations"
    return {
        path.stem: email.message_from_bytes(
            path.read_bytes(), policy=email.policy.default
        ).get_content()
        for path in (folder.glob("*.eml") if folder.is_dir() else [])
    }


@pytest.mark.parametrize(
    "path",
    ["/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/static/../../secret.txt",
     f"/{HIDDEN}/index.html", "/.2026-11-25.lock", "/packs/2026-11-15/", "/static/"],
)  # fmt: skip
def test_only_the_sites_pages_are_served(served, path):
    status, body = _request(served, "GET", path)
    assert status == 404
    assert "outside the site" not in body and "half-written" not in body
    assert "sample_pack_2026-11-15.zip" not in body  # no folder listing
    assert _request(served, "GET", "/index.html")[0] == 200


def test_another_host_or_a_form_of_another_site_changes_nothing(served):
    port = served["port"]
    # DNS rebinding: the browser names the attacker's host.
    assert _request(served, "GET", "/index.html", headers={"Host": "evil.example"})[0] == 421
    form = {"email": "victim@example.com"}
    rebound = _post(served, "/subscribe", form, {"Host": f"evil.example:{port}"})
    assert rebound[0] == 421
    # Cross-site forgery: another site's page posts the operator's browser here.
    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{port}.evil.example"):
        assert _post(served, "/subscribe", form, {"Origin": origin})[0] == 403
    assert _post(served, "/subscribe", form, {"Sec-Fetch-Site": "cross-site"})[0] == 403
    licence = {"name": "Eve", "email": "eve@example.com", "project": "x", "use": "sync",
               "tracks": "x"}  # fmt: skip
    assert _post(served, "/licence-request", licence, {"Origin": "http://evil.example"})[0] == 403
    assert _subscribers(served).status(subscriber_id("victim@example.com")) is None
    assert subscriber_id("victim@example.com") not in _confirmations(served)

    # The server's own page, under its other loopback name: the mailed link names that one.
    status, page = _post(served, "/subscribe", form,
                         {"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"})  # fmt: skip
    assert status == 200 and "Almost there" in page
    mail = _confirmations(served)[subscriber_id("victim@example.com")]
    assert f"http://localhost:{port}/confirm?token=" in mail and "evil" not in mail


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [({"Content-Length": "abc"}, b"", 400),
     ({"Content-Length": "-1"}, b"", 400),
     ({"Content-Length": str(10**9)}, b"", 413),  # declared huge: refused before reading
     ({}, b"email=%FF%FE%40example.com", 400),  # percent-escapes that are not UTF-8
     ({}, b"email=ad\xe0@example.com", 400),  # a body that is not UTF-8
     ({}, "&".join(f"f{i}=1" for i in range(100)).encode(), 400)],
)  # fmt: skip
def test_a_malformed_form_gets_a_4xx_and_the_server_keeps_answering(served, headers, body, status):
    for path in ("/subscribe", "/licence-request", "/unsubscribe"):
        assert _request(served, "POST", path, body, headers)[0] == status
    assert served["server"].poll() is None
    assert _request(served, "GET", "/index.html")[0] == 200


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_an_address_that_could_add_a_header_or_recipient_is_refused(served, address):
    before = _confirmations(served)
    status, page = _post(served, "/subscribe", {"email": address})
    assert status == 400 and "not an e-mail address" in page
    status, page = _post(served, "/licence-request", {
        "name": "Eve", "email": address, "project": "A film", "use": "sync", "tracks": "x"})  # fmt: skip
    assert status == 400
    assert any(why in page for why in ("not an e-mail address", "empty", "line breaks"))
    assert _confirmations(served) == before  # nothing mailed
    with pytest.raises(NewsletterError):
        _subscribers(served).subscribe(address)
    with pytest.raises(LicenceRequestError):
        LicenceRequests(Warehouse(str(served["data"] / "warehouse.duckdb"))).record(
            LicenceRequest("Eve", address, "A film", "sync", "x")
        )


def test_plain_addresses_of_every_shape_are_taken(served):
    subscribers = _subscribers(served)
    for address in ("a.b+tag@mail.example.co.uk", "o'neil@example.ie", "x_y-z@a-b.example"):
        assert subscribers.subscribe(f"  {address} ")  # surrounding blanks trimmed
        assert subscribers.status(subscriber_id(address)) == "pending"


def test_the_form_naming_a_confirmed_subscriber_changes_nothing_for_them(served):
    subscribers = _subscribers(served)
    token = subscribers.subscribe("ada@example.com")
    assert subscribers.subscribe("ada@example.com") == token  # pending: the same link again
    subscribers.confirm(token)
    ada = subscriber_id("ada@example.com")

    status, page = _post(served, "/subscribe", {"email": "ADA@example.com "})
    assert status == 200 and "Almost there" in page  # the same answer: no one learns who is in
    assert subscribers.status(ada) == "confirmed"
    assert ada not in _confirmations(served)  # and no mail to a confirmed subscriber

    # The unsubscribe link in the newsletters already sent still works...
    assert "Unsubscribed" in _post(served, "/unsubscribe", {"token": token})[1]
    assert subscribers.status(ada) == "unsubscribed"
    # ... and the old confirmation link does not bring the address back.
    assert _post(served, "/confirm", {"token": token})[0] == 404
    assert subscribers.status(ada) == "unsubscribed"
    # A new subscription does: pending again, with a new link mailed.
    assert _post(served, "/subscribe", {"email": "ada@example.com"})[0] == 200
    assert subscribers.status(ada) == "pending"
    mail = _confirmations(served)[ada]
    assert token not in mail
    [confirm] = re.findall(r"http://\S+/confirm\?token=(\S+)", mail)
    # Following the link (as a mail scanner does) shows a button; only the button confirms.
    status, page = _request(served, "GET", f"/confirm?token={confirm}")
    assert status == 200 and 'action="/confirm"' in page and confirm in page
    assert subscribers.status(ada) == "pending"
    assert "Subscribed" in _post(served, "/confirm", {"token": confirm})[1]
    assert subscribers.status(ada) == "confirmed"


def test_a_requesters_text_never_reaches_the_operators_terminal(served):
    data = served["data"]
    base = {"name": "Sam", "email": "sam@example.com", "project": "A film", "use": "sync",
            "tracks": "x"}  # fmt: skip
    for field, value in (("project", "\x1b]0;owned\x07 film"), ("name", "Sam\nBcc: x"),
                         ("tracks", "track \u202egnp.exe"), ("name", "Sam\tSam")):  # fmt: skip
        status, page = _post(served, "/licence-request", {**base, field: value})
        assert status == 400 and "control characters" in page
    status, page = _post(served, "/licence-request", {**base, "project": "A film\r\nfor a fest"})
    assert status == 200 and "Request received" in page
    # A request recorded before the form refused them (or written by hand) is shown plain.
    requests = LicenceRequests(Warehouse(str(data / "warehouse.duckdb")))
    requests.warehouse.execute(
        "INSERT INTO licence_requests VALUES ('LR09000', 'now', ?, 'sam@example.com', ?, "
        "'creator', 'x', 'open', '', '')",
        ["Sam\x1b[2J", "Film\x1b]0;owned\x07\u202e\tnext\ncolumn"],
    )
    lofi = [sys.executable, "-m", "lofi_assets.cli", "licence"]
    listing = subprocess.run([*lofi, "list"], env=_environment(data), capture_output=True,
                             text=True, timeout=60)  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    [line] = [line for line in listing.stdout.splitlines() if line.startswith("LR09000")]
    assert line.split("\t")[3] == "Film]0;owned next column"
    assert "\x1b" not in listing.stdout and "\u202e" not in listing.stdout
    answer = subprocess.run([*lofi, "answer", "LR09000"], env=_environment(data),
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    assert "\x1b" not in answer.stdout and "\u202e" not in answer.stdout
    assert (
        answer.stdout.splitlines()[0]
        == "Subject: Your licence request LR09000: Film]0;owned next column"
    )


def test_concurrent_licence_requests_each_get_their_own_number(served):
    fields = {"name": "Sam", "email": "sam@example.com", "project": "A podcast",
              "use": "creator", "tracks": "all"}  # fmt: skip
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _post(served, "/licence-request", fields), range(16)))
    assert [status for status, _ in answers] == [200] * 16
    numbers = {re.search(r"LR\d{5}", page).group() for _, page in answers}
    assert len(numbers) == 16


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_a_port_that_is_not_one_is_one_error_line(tmp_path, port):
    result = subprocess.run(
        [sys.executable, "-m", "lofi_assets.cli", "catalog", "serve", "--port", port],
        env=_environment(tmp_path), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("lofi: error: argument --port: ")
    assert "not a port number" in result.stderr and len(result.stderr.splitlines()) == 1


def test_behind_a_proxy_the_public_name_is_answered_and_named_in_the_links(served, tmp_path):
    mailed: list[tuple[str, str]] = []
    data = served["data"]
    server = site_server(
        data / "catalog_site", 0, lambda: Warehouse(str(tmp_path / "warehouse.duckdb")),
        lambda address, url: mailed.append((address, url)), public_url="https://music.example/",
    )  # fmt: skip
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        here = {"port": server.server_address[1]}
        public = {"Host": "music.example", "Origin": "https://music.example"}
        assert _post(here, "/subscribe", {"email": "ada@example.com"}, public)[0] == 200
        [(address, url)] = mailed
        assert address == "ada@example.com"
        assert url.startswith("https://music.example/confirm?token=")
        assert _request(here, "GET", "/index.html", headers={"Host": "music.example"})[0] == 200
        assert _request(here, "GET", "/index.html", headers={"Host": "evil.example"})[0] == 421
        forged = {"Host": "music.example", "Origin": "http://music.example"}  # not its scheme
        assert _post(here, "/subscribe", {"email": "bo@example.com"}, forged)[0] == 403
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(CatalogSiteError, match="not an http"):
        site_server(data / "catalog_site", 0, public_url="javascript:alert(1)")


def test_a_client_that_stops_sending_is_answered_408_and_frees_its_thread(
    served, tmp_path, monkeypatch
):
    monkeypatch.setattr(serve._SiteHandler, "timeout", 0.5)
    server = site_server(
        served["data"] / "catalog_site", 0, lambda: Warehouse(str(tmp_path / "w.duckdb")),
        lambda address, url: None,
    )  # fmt: skip
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as stalled:
            stalled.sendall(
                f"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                "Content-Length: 100\r\n\r\nemail=ada".encode()
            )  # and nothing more
            assert stalled.recv(4096).startswith(b"HTTP/1.0 408 ")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
            assert idle.recv(4096) == b""  # no request line at all: closed, not held
        assert _request({"port": port}, "GET", "/index.html")[0] == 200
    finally:
        server.shutdown()
        server.server_close()
