"""The subscribers' newsletter (issue 18 §4) on a real instance, sent to a real SMTP server
(aiosmtpd on 127.0.0.1): only confirmed subscribers get it, once; its unsubscribe link works
against ``lofi catalog serve``; no address reaches the logs, the instance or the metadata."""

import email
import email.policy
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from lofi_assets.catalog.licence import CREATOR_LICENCE
from lofi_assets.catalog.newsletter import NewsletterError, SubscriberList, subscriber_id
from lofi_assets.catalog.packs import PackMember, build_pack
from lofi_assets.catalog.site import SiteSettings, publish_pack, write_index
from lofi_assets.defs.assets.newsletter import newsletter
from lofi_assets.defs.partitions import release_weeks
from lofi_assets.defs.records import PackRecord
from lofi_assets.defs.resources import ChannelConfig, ReportResource
from lofi_assets.storage import write_json_atomic
from lofi_assets_tests.conftest import make_resources
from lofi_assets_tests.growth_fixtures import write_record
from lofi_assets_tests.test_catalog_site import _free_port

# The report's aiosmtpd server on 127.0.0.1 (LOFI_SMTP_* pointed at it), as a fixture.
from lofi_assets_tests.test_channel_report import smtp  # noqa: F401

WEEK, DATES = "2026-11-15", ("2026-11-16", "2026-11-18")
CONFIRMED = ("ada@example.com", "bo@example.org")
PENDING, LEFT, NEWCOMER = "cy@example.net", "di@example.com", "eve@example.net"
ASSETS = [
    dg.SourceAsset(key="sample_pack", partitions_def=release_weeks, io_manager_key="record_io_manager"),
    newsletter,
]  # fmt: skip
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def week(data_dir):
    """Two releases of the week on the site (and one of the next week), the week's sample
    pack, and the list: two confirmed subscribers, one pending, one who left."""
    site = SiteSettings("Lofi Empire", "Lofi Empire", "http://127.0.0.1:8765/")
    for date in (*DATES, "2026-11-25"):
        write_json_atomic(data_dir / "catalog_site" / date / "release.json", {
            "date": date, "title": f"Rainy beats {date}", "description": "", "mood": "calm",
            "tracks": []})  # fmt: skip
    write_index(data_dir / "catalog_site", site)
    loop = data_dir / "loop.wav"
    loop.write_bytes(b"RIFF-not-really-audio")
    pack = build_pack(
        data_dir / "sample_pack" / WEEK / f"sample_pack_{WEEK}.zip", "sample_pack", WEEK,
        [PackMember("loop.wav", loop)], CREATOR_LICENCE, "licence", "readme", loop,
    )  # fmt: skip
    record = PackRecord(str(pack.zip_path.relative_to(data_dir)), len(pack.manifest["files"]),
                        pack.size_bytes, [], CREATOR_LICENCE.licence_id)  # fmt: skip
    write_record(data_dir, "sample_pack", WEEK, record)
    publish_pack(data_dir / "catalog_site", WEEK, pack.zip_path)  # as sample_pack does
    subscribers = SubscriberList(make_resources(data_dir)["warehouse"].client())
    for address in CONFIRMED:
        subscribers.confirm(subscribers.subscribe(address))
    subscribers.subscribe(PENDING)
    left = subscribers.subscribe(LEFT)
    subscribers.confirm(left)
    subscribers.unsubscribe(left)
    return subscribers


def _run(data_dir, home, site_url, mode):
    resources = {**make_resources(data_dir), "channel": ChannelConfig(site_url=site_url),
                 "report": ReportResource(mode=mode)}  # fmt: skip
    home.mkdir(parents=True, exist_ok=True)
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        result = dg.materialize(ASSETS, selection=[newsletter], partition_key=WEEK,
                                instance=instance, resources=resources)  # fmt: skip
        return result.asset_materializations_for_node("newsletter")[0].metadata


def test_confirmed_subscribers_get_it_once_and_the_unsubscribe_link_works(
    smtp,  # noqa: F811 (the imported fixture)
    week,
    data_dir,
    tmp_path,
    capfd,
):
    port = _free_port()
    site_url = f"http://127.0.0.1:{port}/"
    home = tmp_path / "dagster_home"
    metadata = _run(data_dir, home, site_url, "live")
    assert metadata["sent"].value == 2 and metadata["confirmed_subscribers"].value == 2
    assert sorted(to for _, [to], _ in smtp.messages) == sorted(CONFIRMED)
    assert {sender for sender, _, _ in smtp.messages} == {"lofi@example.com"}

    raw = next(content for _, [to], content in smtp.messages if to == CONFIRMED[0])
    message = email.message_from_bytes(raw, policy=email.policy.default)
    html = message.get_body(("html",)).get_content()
    assert html.count("Rainy beats") == 2 and "2026-11-25" not in html  # the week's releases
    pack_url = f"{site_url}packs/{WEEK}/sample_pack_{WEEK}.zip"
    assert pack_url in html
    [unsubscribe] = re.findall(r'href="([^"]*unsubscribe[^"]*)"', html)
    unsubscribe = unsubscribe.replace("&amp;", "&")
    assert message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"

    environment = {**os.environ, "LOFI_DATA_DIR": str(data_dir)}
    server = subprocess.Popen(
        [sys.executable, "-m", "lofi_assets.cli", "catalog", "serve", "--port", str(port)],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert "serving" in server.stdout.readline()
        with urllib.request.urlopen(pack_url, timeout=10) as response:  # the free pack
            zipped = data_dir / "sample_pack" / WEEK / f"sample_pack_{WEEK}.zip"
            assert response.read() == zipped.read_bytes()
        with urllib.request.urlopen(unsubscribe, timeout=10) as response:
            page = response.read().decode()
        # A page with a button: a mail scanner following the link alone changes nothing.
        assert 'method="post"' in page
        assert week.status(subscriber_id(CONFIRMED[0])) == "confirmed"
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(unsubscribe).query)["token"][0]
        form = urllib.parse.urlencode({"token": token}).encode()
        with urllib.request.urlopen(f"{site_url}unsubscribe", data=form, timeout=10) as response:
            assert "Unsubscribed" in response.read().decode()
        assert week.status(subscriber_id(CONFIRMED[0])) == "unsubscribed"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{site_url}unsubscribe", data=b"token=forged", timeout=10)
        assert refused.value.code == 404

        # A new subscriber from the index's form: pending until the mailed link is followed.
        form = urllib.parse.urlencode({"email": NEWCOMER}).encode()
        with urllib.request.urlopen(f"{site_url}subscribe", data=form, timeout=10) as response:
            assert "Almost there" in response.read().decode()
        assert week.status(subscriber_id(NEWCOMER)) == "pending"
        [(_, [to], raw_confirmation)] = smtp.messages[2:]
        assert to == NEWCOMER
        confirmation = email.message_from_bytes(raw_confirmation, policy=email.policy.default)
        [confirm] = re.findall(r"http://\S+/confirm\?token=\S+", confirmation.get_content())
        with urllib.request.urlopen(confirm, timeout=10) as response:  # a page with a button
            assert 'action="/confirm"' in response.read().decode()
        assert week.status(subscriber_id(NEWCOMER)) == "pending"  # a mail scanner's visit
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(confirm).query)["token"][0]
        form = urllib.parse.urlencode({"token": token}).encode()
        with urllib.request.urlopen(f"{site_url}confirm", data=form, timeout=10) as response:
            assert "Subscribed" in response.read().decode()
        assert week.status(subscriber_id(NEWCOMER)) == "confirmed"
    finally:
        server.terminate()
        server.wait(timeout=10)

    # One left, one had it: only the newcomer gets the week's newsletter.
    again = _run(data_dir, home, site_url, "live")
    assert again["sent"].value == 1 and again["already_sent"].value == 1
    assert [to for _, [to], _ in smtp.messages[3:]] == [NEWCOMER]

    # No address anywhere but the warehouse (the list) and the messages themselves.
    captured = capfd.readouterr()
    places = [p for p in [*home.rglob("*"), *data_dir.rglob("*")]
              if p.is_file() and p.name != "warehouse.duckdb"]  # fmt: skip
    assert len(places) > 5
    for address in (*CONFIRMED, PENDING, LEFT, NEWCOMER):
        assert address not in captured.out + captured.err
        for path in places:
            assert address.encode() not in path.read_bytes(), (address, path)
        assert address not in str({k: v.value for k, v in again.items()})


def test_a_dry_run_writes_the_preview_eml_and_sends_nothing(week, data_dir, tmp_path):
    metadata = _run(data_dir, tmp_path / "home", "http://127.0.0.1:8765/", "dry_run")
    assert metadata["sent"].value == 0 and metadata["confirmed_subscribers"].value == 2
    eml = Path(metadata["preview_eml"].value)
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "subscriber@localhost"
    assert "Rainy beats 2026-11-16" in message.get_body(("plain",)).get_content()
    assert week.sent(WEEK) == set()


def test_the_list_refuses_a_non_address_and_an_unknown_token(week):
    with pytest.raises(NewsletterError, match="not an e-mail address"):
        week.subscribe("not-an-address")
    with pytest.raises(NewsletterError, match="not valid"):
        week.confirm("no-such-token")
    assert week.status(subscriber_id(PENDING)) == "pending"


def test_a_refused_recipient_gets_it_on_the_rerun_and_no_one_gets_it_twice(
    smtp,  # noqa: F811 (the imported fixture)
    week,
    data_dir,
    tmp_path,
):
    """Each message is claimed before it is sent (at most once a week, even from two runs at
    once); a claim whose message the server refused is given back for the next run."""
    refused = {CONFIRMED[1]}

    async def handle_RCPT(server, session, envelope, address, options):  # aiosmtpd's hook name
        if address in refused:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    smtp.handle_RCPT = handle_RCPT
    resources = {**make_resources(data_dir), "report": ReportResource(mode="live")}
    home = tmp_path / "home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        failed = dg.materialize(ASSETS, selection=[newsletter], partition_key=WEEK,
                                instance=instance, resources=resources, raise_on_error=False)  # fmt: skip
    assert not failed.success
    delivered = {to for _, [to], _ in smtp.messages}
    assert CONFIRMED[1] not in delivered
    assert week.sent(WEEK) == {subscriber_id(a) for a in delivered}  # the refused one released
    # The server's refusal quotes the address: the failure the instance stores does not.
    stored = [p.read_bytes() for p in home.rglob("*") if p.is_file()]
    assert stored and not any(CONFIRMED[1].encode() in content for content in stored)

    refused.clear()
    metadata = _run(data_dir, home, "http://127.0.0.1:8765/", "live")
    assert metadata["sent"].value == 2 - len(delivered)
    assert metadata["already_sent"].value == len(delivered)
    assert sorted(to for _, [to], _ in smtp.messages) == sorted(CONFIRMED)  # each once

    # Another run (or one that died after its claim) holds the week's message: never sent again.
    other = SubscriberList(make_resources(data_dir)["warehouse"].client())
    assert other.claim("2026-11-22", subscriber_id(CONFIRMED[0]), "<m@x>")
    assert not week.claim("2026-11-22", subscriber_id(CONFIRMED[0]), "<m@x>")


def test_the_lists_states_move_only_as_the_subscriber_asks(week):
    assert week.subscribe(PENDING) == week.subscribe(PENDING.upper())  # the first link stays
    [ada] = [s for s in week.confirmed() if s.email == CONFIRMED[0]]
    assert week.subscribe(CONFIRMED[0]) is None  # nothing to mail, nothing changed
    assert week.status(ada.subscriber_id) == "confirmed"
    week.unsubscribe(ada.token)  # the link of the newsletters already sent
    with pytest.raises(NewsletterError, match="not valid"):
        week.confirm(ada.token)  # an old confirmation link does not undo an unsubscribe
    assert week.status(ada.subscriber_id) == "unsubscribed"
    assert week.subscribe(CONFIRMED[0]) not in (None, ada.token)  # a new opt-in, a new link


def test_a_row_with_a_header_in_its_address_is_never_addressed(week):
    """Written by a version that did not check the address: the list never sends to it."""
    week.warehouse.execute(
        "INSERT INTO newsletter_subscribers VALUES ('forged', ?, 'confirmed', 't', 'x', 'x')",
        ["ada@example.com\r\nBcc: eve@example.net"],
    )
    assert sorted(s.email for s in week.confirmed()) == sorted(CONFIRMED)
