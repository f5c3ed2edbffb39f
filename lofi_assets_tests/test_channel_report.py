"""Issue 17 §6: the owner's weekly report on a real Dagster instance, sent to a real SMTP
server (aiosmtpd on 127.0.0.1) and parsed back; in a dry run, the .eml."""

import email
import email.policy
import io
import socket

import dagster as dg
import pytest
from aiosmtpd.controller import Controller
from PIL import Image

from lofi_assets.defs.assets.growth import channel_report
from lofi_assets.defs.resources import ChannelConfig, ReportResource
from lofi_assets.errors import ConfigError
from lofi_assets.publish.radio_health import HEALTH_TABLE
from lofi_assets.publish.report import DRY_RUN_RECIPIENT, ReportLedger, SmtpSettings, message_id
from lofi_assets.publish.upload import LedgerRow, UploadLedger
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets_tests.conftest import make_resources

WEEK = "2026-11-15"  # the channel launched on Sunday 2026-11-01: weeks start on Sundays
OWNER = "owner@example.com"
pytestmark = pytest.mark.timeout(60)


class Inbox:
    """aiosmtpd handler: every message the server accepted, as bytes."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in {"LOFI_SMTP_HOST": "127.0.0.1", "LOFI_SMTP_PORT": str(port),
                        "LOFI_SMTP_STARTTLS": "false", "LOFI_REPORT_TO": OWNER,
                        "LOFI_REPORT_FROM": "lofi@example.com"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def week_data(data_dir):
    """Three releases of the week with a week of analytics, and the radio's uptime."""
    store = Warehouse(str(data_dir / "warehouse.duckdb"))
    ledger = UploadLedger(store)
    releases = {"2026-11-15": ("videoAAAA", "Rainy <b>jazz</b> & tea", 120),
                "2026-11-16": ("videoBBBB", "Dusty beats", 40),
                "2026-11-17": ("videoCCCC", "Quiet tokyo", 300)}  # fmt: skip
    for date, (video_id, title, views) in releases.items():
        ledger.save(LedgerRow(date, "scheduled", None, video_id, "sha"))
        ledger.save_playlist_item(date, "Lofi", "playlist-1", f"item-{video_id}")
        # Published on its day: the week's quota counts what the ledger did that week.
        store.execute(
            "UPDATE youtube_uploads SET updated_at = ? WHERE release_date = ?",
            [f"{date}T08:00:00+00:00", date],
        )
        store.execute(
            "INSERT INTO video_totals VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [video_id, date, title, 540.0, views * 7, 3, 1, "2026-11-22"],
        )
        for offset in range(15, 22):
            store.execute(
                "INSERT INTO video_daily VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [f"2026-11-{offset}", video_id, views, views * 3.5, 210.0, 2, 1, "2026-11-22"],
            )
    store.execute(HEALTH_TABLE)
    store.execute(
        "INSERT INTO radio_health VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ["2026-11-16", 86000.0, 400.0, 2, 0, 0, 0, "bc1", "2026-11-16T23:59:00+00:00"],
    )
    return store


def _run(data_dir, instance, **resources):
    return dg.materialize(
        [channel_report], partition_key=WEEK, instance=instance,
        resources={**make_resources(data_dir), **resources}, raise_on_error=False,
    )  # fmt: skip


def _check_message(raw: bytes) -> email.message.EmailMessage:
    """One well-formed report: text + HTML with both plots inline, each a PNG it cites."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["To"] in (OWNER, DRY_RUN_RECIPIENT)
    assert message["Message-ID"] == f"<channel-report.{WEEK}.lofi-empire@lofi-empire.local>"
    assert message.get_content_type() == "multipart/alternative"
    text, related = message.get_payload()
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, *images = related.get_payload()
    body = html_part.get_content()
    assert len(images) == 2
    for image in images:
        assert image.get_content_type() == "image/png"
        assert f"cid:{image['Content-ID'].strip('<>')}" in body
        assert Image.open(io.BytesIO(image.get_content())).size == (720, 300)
    return message


def test_the_owner_receives_one_well_formed_report_across_three_runs(
    data_dir, instance, smtp, week_data
):
    for _ in range(3):
        result = _run(data_dir, instance, report=ReportResource())
        assert result.success
    assert len(smtp.messages) == 1
    sender, recipients, raw = smtp.messages[0]
    assert (sender, recipients) == ("lofi@example.com", [OWNER])
    message = _check_message(raw)
    assert message["Subject"] == f"Lofi Empire: your week of {WEEK} (3,220 views)"
    html = message.get_payload()[1].get_payload()[0].get_content()
    # 460 views a day for 7 days; 3.5 minutes a view; +1 subscriber per video per day.
    assert "3,220" in html and "187.8 h" in html and "+21" in html
    assert "Rainy &lt;b&gt;jazz&lt;/b&gt; &amp; tea" in html  # titles are escaped
    assert "Best: <b>Quiet tokyo</b>" in html and "Worst: <b>Dusty beats</b>" in html
    assert "99.54 %" in html  # radio: 86000 s up, 400 s down
    assert "~5,112 units" in html  # 3 × (1600 insert + 4 lookups + 50 thumbnail) + 3 × 50 items
    text = message.get_payload()[0].get_content()
    assert "Best: Quiet tokyo (2,100 views)" in text
    assert ReportLedger(week_data).sent(WEEK)["recipient"] == OWNER
    shown = result.get_asset_materialization_events()[0].materialization.metadata
    assert shown["views"].value == 3220 and shown["sent_at"].value != "not sent"


def test_dry_run_writes_the_eml_and_sends_nothing(data_dir, instance, week_data):
    result = _run(data_dir, instance)
    assert result.success
    eml = data_dir / "channel_report" / WEEK / "report.eml"
    _check_message(eml.read_bytes())
    assert ReportLedger(week_data).sent(WEEK) is None


def test_an_unreachable_server_fails_and_records_nothing(
    data_dir, instance, smtp, week_data, monkeypatch
):
    monkeypatch.setenv("LOFI_SMTP_PORT", str(_free_port()))  # nothing listens there
    monkeypatch.setenv("LOFI_SMTP_PASSWORD", "hunter2-smtp-secret")
    monkeypatch.setenv("LOFI_SMTP_USER", "lofi")
    result = _run(data_dir, instance, report=ReportResource())
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.message
    assert "Could not send the report to owner@example.com" in message
    assert "hunter2-smtp-secret" not in message
    assert ReportLedger(week_data).sent(WEEK) is None and smtp.messages == []


def test_a_host_without_a_recipient_is_a_config_error(monkeypatch):
    with pytest.raises(ConfigError, match="LOFI_REPORT_TO"):
        SmtpSettings.from_environment({"LOFI_SMTP_HOST": "mail.example.com"})
    assert SmtpSettings.from_environment({}) is None
    monkeypatch.delenv("LOFI_SMTP_HOST", raising=False)
    with pytest.raises(ConfigError, match="live but LOFI_SMTP_HOST is not set"):
        ReportResource(mode="live").settings()
    assert ReportResource().settings() is None  # auto without a host: a dry run


@pytest.mark.parametrize("name", ["ローファイ 夜カフェ", "Café Lo-Fi", "🌙"])
def test_a_channel_named_beyond_ascii_gets_its_report(data_dir, instance, smtp, week_data, name):
    """A header is ASCII (RFC 5322): a non-ASCII channel name once made the Message-ID
    unencodable and every run, dry or live, failed. The subject carries the name (an encoded
    word), the Message-ID stays ASCII and differs from another channel's."""
    week_data.execute(
        "UPDATE video_totals SET title = ? WHERE video_id = ?", ["雨の夜 ☔", "videoCCCC"]
    )
    channel = ChannelConfig(channel_name=name, artist=name)
    assert _run(data_dir, instance, report=ReportResource(), channel=channel).success
    assert _run(data_dir, instance, report=ReportResource(), channel=channel).success  # once
    ((_, _, raw),) = smtp.messages
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == f"{name}: your week of {WEEK} (3,220 views)"
    # (a long id may be folded onto a second line: CFWS around a msg-id is allowed)
    assert (
        message["Message-ID"].strip() == message_id(name, WEEK) and message_id(name, WEEK).isascii()
    )
    assert message_id(name, WEEK) != message_id(name + "2", WEEK)
    assert "Best: 雨の夜 ☔ (2,100 views)" in message.get_payload()[0].get_content()
    eml = (data_dir / "channel_report" / WEEK / "report.eml").read_bytes()
    assert (
        email.message_from_bytes(eml, policy=email.policy.default)["Subject"] == message["Subject"]
    )


def test_quota_used_counts_the_growth_assets_writes(data_dir, instance, week_data):
    """The week's quota once counted only uploads: replies, the tracklist comment, thumbnails
    set by experiments and keyword searches (the costly ones) were left out."""
    from lofi_assets.publish.comments import Classification, CommentQueue, CommentThread
    from lofi_assets.publish.experiments import ExperimentStore
    from lofi_assets.publish.keywords import KeywordStore

    queue, experiments = CommentQueue(week_data), ExperimentStore(week_data)
    KeywordStore(week_data).save(WEEK, "lofi hip hop", 10, [], 101)
    for n in range(3):
        thread = CommentThread(f"t{n}", f"c{n}", "videoAAAA", "fan", "UCfan", "so good", "")
        queue.add("2026-11-15", thread, Classification("praise"), "Thanks!")
        queue.set_status(f"c{n}", "posted", f"r{n}")
    queue.save_pinned("2026-11-15", "videoAAAA", "posted", "Tracklist", "pin1")
    experiments.save_experiment("2026-11-15", "videoAAAA", "2026-11-16", "decided", "B", "won")
    for day in ("2026-11-16", "2026-11-17"):
        experiments.save_rotation("2026-11-15", day, "A")
    # Written "now" by the stores: move them into the week, one reply and the search outside.
    for table, column, where in [
        ("comment_queue", "updated_at", "comment_id <> 'c2'"),
        ("pinned_comments", "updated_at", "true"),
        ("thumbnail_experiments", "updated_at", "true"),
        ("thumbnail_rotations", "set_at", "true"),
    ]:
        week_data.execute(
            f"UPDATE {table} SET {column} = '2026-11-18T10:00:00+00:00' WHERE {where}"
        )
    week_data.execute("UPDATE comment_queue SET updated_at = '2026-11-22T10:00:00+00:00' "
                      "WHERE comment_id = 'c2'")  # fmt: skip
    assert _run(data_dir, instance).success
    text = (
        email.message_from_bytes(
            (data_dir / "channel_report" / WEEK / "report.eml").read_bytes(),
            policy=email.policy.default,
        )
        .get_payload()[0]
        .get_content()
    )
    # 5,112 for the uploads + 2 replies + the tracklist + 2 rotations + the winner (50 each)
    assert "YouTube quota used: ~5,412 units" in text
    KeywordStore(week_data).warehouse.execute(
        "UPDATE keyword_searches SET fetched_at = '2026-11-19T03:00:00+00:00'"
    )
    assert _run(data_dir, instance).success
    eml = (data_dir / "channel_report" / WEEK / "report.eml").read_bytes()
    assert b"~5,513 units" in eml  # + the week's search (101)


@pytest.fixture
def smtps(monkeypatch, tmp_path):
    """aiosmtpd speaking TLS from the first byte (SMTPS, as on port 465), with a certificate
    for 127.0.0.1 that the client trusts through SSL_CERT_FILE."""
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_context)
    controller.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    for name, value in {"LOFI_SMTP_HOST": "127.0.0.1", "LOFI_SMTP_PORT": str(port),
                        "LOFI_SMTP_SSL": "true", "LOFI_REPORT_TO": OWNER}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    try:
        yield inbox
    finally:
        controller.stop()


def test_the_report_goes_over_implicit_tls(data_dir, instance, smtps, week_data):
    """Port 465 (SMTPS) speaks TLS first: plain SMTP waited out its 30 s timeout there and
    no setting could change it."""
    assert _run(data_dir, instance, report=ReportResource()).success
    ((_, recipients, raw),) = smtps.messages
    assert recipients == [OWNER]
    _check_message(raw)
    settings = SmtpSettings.from_environment(
        {"LOFI_SMTP_HOST": "smtp.example.com", "LOFI_SMTP_PORT": "465", "LOFI_REPORT_TO": OWNER}
    )
    assert settings.implicit_tls and not settings.starttls  # the default on 465
    on_587 = SmtpSettings.from_environment({"LOFI_SMTP_HOST": "h", "LOFI_REPORT_TO": OWNER})
    assert on_587.starttls and not on_587.implicit_tls
