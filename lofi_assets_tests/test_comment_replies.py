"""Issue 17 §3: comments classified by rules kept as data, replies drafted into an approval
queue and posted only once approved, the tracklist comment posted once, style requests fed
into the style boosts; on a real Dagster instance against the local YouTube server."""

import json

import dagster as dg
import pytest

from lofi_assets.cli import main
from lofi_assets.defs.assets.growth import comment_replies, comment_replies_sensor
from lofi_assets.defs.partitions import release_dates
from lofi_assets.defs.resources import WarehouseResource, YouTubeResource
from lofi_assets.publish.comments import CommentQueue, classify, load_rules
from lofi_assets.publish.feedback import BOOSTS_FILE, read_boosts
from lofi_assets.publish.upload import LedgerRow, UploadLedger
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets_tests.conftest import make_resources
from lofi_assets_tests.growth_fixtures import stage_release
from lofi_assets_tests.youtube_server import CHANNEL_ID, QUOTA_ERROR, LocalYouTube, write_token_file

DATE = "2026-11-28"
VIDEO = "videoRELEASE"
REPLY = "POST /youtube/v3/comments"
TRACKLIST = "POST /youtube/v3/commentThreads"
ASSETS = [
    *(dg.SourceAsset(key=name, partitions_def=release_dates, io_manager_key="record_io_manager")
      for name in ("release_metadata", "youtube_upload")),
    comment_replies,
]  # fmt: skip
COMMENTS = {
    "question": "How long did it take to make this?",
    "praise": "I love this so much ❤",
    "track_id": "what's the song at 3:00",
    "spam": "Check out my channel https://spam.example for free subs?",
    "style_request": "Please make more jazz!",
    "style_request_2": "can you do more jazzy stuff",
}
pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("text", "category", "style"),
    [
        ("How long did it take to make this?", "question", None),
        ("I love this so much ❤", "praise", None),
        ("what's the song at 3:00", "track_id", None),
        ("曲名を教えてください", "track_id", None),
        ("free subs here: https://x.example/?", "spam", None),  # spam wins over a question
        ("Please make more jazz!", "style_request", "jazz"),
        ("more tokyo vibes pls", "style_request", "japanese"),
        ("please make another one", "other", None),  # a request without a style
        ("ok", "other", None),
        # The languages the channel's metadata speaks: once all "other" (no draft, no count).
        ("これは何の曲ですか？", "track_id", None),
        ("¿Cómo se llama esta canción?", "track_id", None),
        ("Qual é o nome dessa música?", "track_id", None),
        ("Wie heißt dieses Lied?", "track_id", None),
        ("Quel est le titre de ce morceau ?", "track_id", None),
        ("作業が捗ります。どこで聴けますか？", "question", None),  # a full-width question mark
        ("Hola, ¿de dónde eres?", "question", None),
        ("Me encanta, gracias", "praise", None),
        ("Danke, wunderschön", "praise", None),
        ("最高です", "praise", None),
        ("정말 좋아요", "praise", None),
        ("Más jazz por favor", "style_request", "jazz"),
        ("Mehr Jazz bitte!", "style_request", "jazz"),
        ("ジャズをもっとお願いします", "style_request", "jazz"),  # no spaces between words
        ("재즈를 더 해주세요", "style_request", "jazz"),
        ("雨の曲もっと欲しい", "style_request", "rainy_day"),
    ],
)
def test_rules_classify_comments(text, category, style):
    found = classify(text, load_rules())
    assert (found.category, found.style) == (category, style)


@pytest.fixture
def server():
    with LocalYouTube() as local:
        yield local


def _live(server, folder) -> YouTubeResource:
    token = write_token_file(folder / "token.json", server.endpoint)
    return YouTubeResource(token_file=str(token), endpoint=server.endpoint)


def _run(data, instance, config=None, **resources):
    return dg.materialize(
        ASSETS, selection=[comment_replies], partition_key=DATE, instance=instance,
        resources={**make_resources(data), **resources}, raise_on_error=False,
        run_config={"ops": {"comment_replies": {"config": config or {}}}},
    )  # fmt: skip


def _queue(data) -> CommentQueue:
    return CommentQueue(Warehouse(str(data / "warehouse.duckdb")))


def _failure(result) -> str:
    (event,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return event.step_failure_data.error.message


@pytest.fixture
def commented(data_dir, server):
    stage_release(data_dir, DATE, release_video_id=VIDEO)
    return {kind: server.fake.add_comment(VIDEO, f"fan{n}", text)
            for n, (kind, text) in enumerate(COMMENTS.items())}  # fmt: skip


def test_nothing_is_posted_without_approval_and_the_tracklist_once(
    data_dir, instance, server, tmp_path, commented
):
    live = _live(server, tmp_path)
    for _ in range(3):
        assert _run(data_dir, instance, youtube=live).success
    assert server.count(REPLY) == 0  # drafts wait for an operator
    assert server.count(TRACKLIST) == 1  # the tracklist comment, once across three runs
    (thread,) = [t for t in server.fake.comment_threads
                 if t["snippet"]["topLevelComment"]["snippet"]["authorChannelId"]["value"] == CHANNEL_ID]  # fmt: skip
    text = thread["snippet"]["topLevelComment"]["snippet"]["textOriginal"]
    assert text.startswith("Tracklist · ") and "\n0:00 " in text and "\n3:00 " in text
    rows = {row["comment_id"]: row for row in _queue(data_dir).rows(DATE)}
    assert len(rows) == len(COMMENTS)  # each comment queued once, ours left out
    assert rows[commented["spam"]]["status"] == "spam" and rows[commented["spam"]]["draft"] is None
    assert rows[commented["track_id"]]["status"] == "pending"
    assert "0:00 " in rows[commented["track_id"]]["draft"]
    assert rows[commented["style_request"]]["style"] == "jazz"

    # Approved through run config: exactly that reply is posted, once across re-runs.
    approved = commented["praise"]
    assert _run(data_dir, instance, {"approve": [approved]}, youtube=live).success
    assert _run(data_dir, instance, youtube=live).success
    assert server.count(REPLY) == 1
    (reply,) = server.fake.replies[approved]
    assert reply["snippet"]["textOriginal"] == rows[approved]["draft"]
    assert _queue(data_dir).rows(DATE, "posted")[0]["reply_id"] == reply["id"]


def test_spam_cannot_be_approved(data_dir, instance, server, tmp_path, commented):
    live = _live(server, tmp_path)
    assert _run(data_dir, instance, youtube=live).success
    result = _run(data_dir, instance, {"approve": [commented["spam"]]}, youtube=live)
    assert not result.success and "whose reply was not sent can be approved" in _failure(result)
    assert server.count(REPLY) == 0


def test_a_reply_sent_by_a_run_that_died_is_adopted_not_sent_again(
    data_dir, instance, server, tmp_path, commented
):
    live = _live(server, tmp_path)
    assert _run(data_dir, instance, youtube=live).success
    queue = _queue(data_dir)
    question = commented["question"]
    queue.decide([question], approve=True)
    draft = queue.rows(DATE, "approved")[0]["draft"]
    # The run that died: it marked the row "posting" and YouTube took the reply.
    queue.set_status(question, "posting")
    server.fake.replies[question] = [server.fake._comment("", "Lofi Empire", CHANNEL_ID, draft)]
    assert _run(data_dir, instance, youtube=live).success
    assert server.count(REPLY) == 0 and len(server.fake.replies[question]) == 1
    assert queue.rows(DATE, "posted")[0]["comment_id"] == question


def test_style_requests_feed_the_style_boosts_once(data_dir, instance, server, tmp_path, commented):
    live = _live(server, tmp_path)
    for _ in range(2):
        assert _run(data_dir, instance, {"style_request_threshold": 2}, youtube=live).success
    boosts = read_boosts(data_dir / BOOSTS_FILE)
    assert [(b.style, b.video_id, b.effective_from) for b in boosts] == [
        ("jazz", "requests-jazz-2", "2026-11-29")
    ]


def test_dry_run_writes_the_exact_requests_and_sends_nothing(data_dir, instance):
    stage_release(data_dir, DATE)
    queue = _queue(data_dir)
    from lofi_assets.publish.comments import Classification, CommentThread

    thread = CommentThread("t1", "c1", "{video_id}", "fan", "UCfan", "love it", "")
    queue.add(DATE, thread, Classification("praise"), "Thank you, fan!")
    queue.decide(["c1"], approve=True)
    assert _run(data_dir, instance).success
    manifest = json.loads((data_dir / "comment_replies" / DATE / "manifest.json").read_text())
    calls = [r["call"] for r in manifest["requests"]]
    assert calls == ["channels.list", "commentThreads.list", "commentThreads.insert",
                     "comments.insert"]  # fmt: skip
    insert = manifest["requests"][2]["body"]["snippet"]
    assert insert["videoId"] == "{video_id}"
    assert insert["topLevelComment"]["snippet"]["textOriginal"].startswith("Tracklist · ")
    assert manifest["requests"][3]["body"] == {
        "snippet": {"parentId": "c1", "textOriginal": "Thank you, fan!"}
    }
    assert queue.rows(DATE, "approved")[0]["comment_id"] == "c1"  # nothing was posted


def test_quota_exhausted_reading_comments_fails_and_queues_nothing(
    data_dir, instance, server, tmp_path, commented
):
    server.fake.route_errors["GET /youtube/v3/commentThreads"] = QUOTA_ERROR
    result = _run(data_dir, instance, youtube=_live(server, tmp_path))
    assert not result.success and "quotaExceeded" in _failure(result)
    assert server.count("GET /youtube/v3/commentThreads") == 1  # never retried
    assert _queue(data_dir).rows(DATE) == []


def test_a_refused_reply_stays_approved_for_the_next_run(
    data_dir, instance, server, tmp_path, commented
):
    live = _live(server, tmp_path)
    assert _run(data_dir, instance, {"approve": []}, youtube=live).success
    _queue(data_dir).decide([commented["praise"]], approve=True)
    server.fake.route_errors[REPLY] = (403, "forbidden", "Comments are disabled.")
    result = _run(data_dir, instance, youtube=live)
    assert not result.success and "forbidden" in _failure(result)
    server.fake.route_errors.clear()
    assert _run(data_dir, instance, youtube=live).success
    assert server.count(REPLY) == 2 and len(server.fake.replies[commented["praise"]]) == 1


def test_a_5xx_reading_comments_is_retried(data_dir, instance, server, tmp_path, commented):
    server.fake.route_errors_once["GET /youtube/v3/commentThreads"] = [
        (503, "backendError", "Service unavailable")
    ]
    assert _run(data_dir, instance, youtube=_live(server, tmp_path)).success
    assert server.count("GET /youtube/v3/commentThreads") == 2
    assert len(_queue(data_dir).rows(DATE)) == len(COMMENTS)


def test_cli_lists_and_approves_with_one_line_errors(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("LOFI_DATA_DIR", str(data_dir))
    monkeypatch.delenv("LOFI_WAREHOUSE_URL", raising=False)
    from lofi_assets.publish.comments import Classification, CommentThread

    queue = _queue(data_dir)
    queue.add(DATE, CommentThread("t1", "c1", VIDEO, "fan", "UCfan", "so good", ""),
              Classification("praise"), "Thanks, fan!")  # fmt: skip
    assert main(["comments", "list", "--status", "pending"]) == 0
    assert "c1\t2026-11-28\tpending\tpraise" in capsys.readouterr().out
    assert main(["comments", "approve", "c1"]) == 0
    assert "approved 1: c1" in capsys.readouterr().out
    assert queue.rows(status="approved")[0]["comment_id"] == "c1"
    assert main(["comments", "approve", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lofi: error: No comment nope in the queue") and err.count("\n") == 1


def test_sensor_requests_a_run_for_approved_replies_and_recent_releases(data_dir):
    store = Warehouse(str(data_dir / "warehouse.duckdb"))
    UploadLedger(store).save(LedgerRow(DATE, "scheduled", None, VIDEO, "sha"))
    from lofi_assets.publish.comments import Classification, CommentThread

    queue = CommentQueue(store)
    queue.add(DATE, CommentThread("t1", "c1", VIDEO, "fan", "UCfan", "so good", ""),
              Classification("praise"), "Thanks, fan!")  # fmt: skip
    queue.decide(["c1"], approve=True)
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance, resources={"warehouse": WarehouseResource(url=store.target)}
        )
        requests = list(comment_replies_sensor(context))
    # One request for the date, naming the waiting reply (a recent release: it is read too).
    assert [r.partition_key for r in requests] == [DATE]
    assert not requests[0].run_key.endswith("-read")


def _sensor_requests(store, monkeypatch, hour):
    import lofi_assets.defs.assets.growth as growth

    monkeypatch.setattr(growth, "_utc_hour", lambda: hour)
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance, resources={"warehouse": WarehouseResource(url=store.target)}
        )
        return {r.partition_key: r.run_key for r in comment_replies_sensor(context)}


def test_sensor_retries_waiting_replies_of_any_release_every_hour(data_dir, monkeypatch):
    """Replies approved (or left ``posting`` by a dead run) on a release older than the three
    newest: a run is requested at once, and again the next hour while they still wait (a
    run refused by the quota is tried again; the run key once named only the approved ids,
    so such a run was never requested again)."""
    store = Warehouse(str(data_dir / "warehouse.duckdb"))
    old, newer = "2026-11-20", ["2026-11-25", "2026-11-26", "2026-11-27"]
    ledger = UploadLedger(store)
    for n, date in enumerate([old, *newer]):
        ledger.save(LedgerRow(date, "scheduled", None, f"video{n}", "sha"))
    from lofi_assets.publish.comments import Classification, CommentThread

    queue = CommentQueue(store)
    queue.add(old, CommentThread("t1", "c1", "video0", "fan", "UCfan", "so good", ""),
              Classification("praise"), "Thanks, fan!")  # fmt: skip
    assert set(_sensor_requests(store, monkeypatch, "2026112810")) == set(newer)  # pending
    queue.decide(["c1"], approve=True)
    first = _sensor_requests(store, monkeypatch, "2026112810")
    assert set(first) == {old, *newer}
    assert _sensor_requests(store, monkeypatch, "2026112810") == first  # the same tick: deduped
    assert _sensor_requests(store, monkeypatch, "2026112811")[old] != first[old]  # next hour
    queue.set_status("c1", "posting")  # a run died between sending and saving
    assert old in _sensor_requests(store, monkeypatch, "2026112811")
    queue.set_status("c1", "posted", "r1")
    assert set(_sensor_requests(store, monkeypatch, "2026112812")) == set(newer)


def test_an_approval_withdrawn_before_posting_is_never_sent(
    data_dir, instance, server, tmp_path, commented, monkeypatch, capsys
):
    live = _live(server, tmp_path)
    assert _run(data_dir, instance, youtube=live).success
    praise, question = commented["praise"], commented["question"]
    monkeypatch.setenv("LOFI_DATA_DIR", str(data_dir))
    monkeypatch.delenv("LOFI_WAREHOUSE_URL", raising=False)
    assert main(["comments", "approve", praise, question]) == 0
    assert main(["comments", "reject", praise]) == 0  # the operator changed their mind
    assert "rejected 1: " + praise in capsys.readouterr().out
    assert _run(data_dir, instance, youtube=live).success
    assert list(server.fake.replies) == [question] and server.count(REPLY) == 1
    capsys.readouterr()  # the run's logs
    assert main(["comments", "reject", question]) == 2  # posted: too late, one line
    err = capsys.readouterr().err
    assert "whose reply was not sent can be rejected" in err and err.count("\n") == 1
    # A withdrawal that lands while a run holds the row: the run's claim sees it.
    queue = _queue(data_dir)
    assert queue.decide([praise], approve=True) == [praise]
    queue.decide([praise], approve=False)
    assert queue.claim(praise) is False and queue.rows(status="rejected")[0]["comment_id"] == praise


@pytest.mark.parametrize(
    ("author", "quoted"),
    [
        ("@ana\u202egnp.exe", "@anagnp.exe"),  # a bidi override reorders what people read
        ("\x1b[2J\x1b[31mlofi fan", "[2J[31mlofi fan"),  # terminal escapes
        ("free subs at www.scam.example", "friend"),  # the channel never repeats spam
        ("\u200b", "friend"),
        ("family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧"),  # emoji sequences stay whole
        ("a" * 300, "a" * 40),
    ],
)
def test_a_viewers_name_is_quoted_plain_in_drafts_and_in_the_cli(
    data_dir, monkeypatch, capsys, author, quoted
):
    """Names and texts are the viewers': the draft quoted them as they were (a spammer's
    name with a link went into the channel's reply) and `lofi comments list` printed their
    escape sequences and tabs to the operator's terminal."""
    from lofi_assets.publish.comments import Classification, CommentThread, draft_reply

    rules = load_rules()
    thread = CommentThread("t1", "c1", VIDEO, author, "UCfan", "love it\x1b[8m\t\u202ehidden", "")
    draft = draft_reply(thread, Classification("praise"), rules, title="Mix", channel="Lofi Empire",
                        tracklist="")  # fmt: skip
    assert quoted in draft and (quoted == author or author not in draft)
    monkeypatch.setenv("LOFI_DATA_DIR", str(data_dir))
    monkeypatch.delenv("LOFI_WAREHOUSE_URL", raising=False)
    _queue(data_dir).add(DATE, thread, Classification("praise"), draft)
    assert main(["comments", "list"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.count("\t") == 5 and "\x1b" not in line and "\u202e" not in line
    assert "love it[8m hidden" in line


def test_the_days_short_comments_are_read_too(data_dir, instance, server, tmp_path, commented):
    """The day's Short (ledger key short-<date>) draws its own comments; only the release's
    video was read, so they were never queued. The tracklist stays on the release."""
    store = Warehouse(str(data_dir / "warehouse.duckdb"))
    UploadLedger(store).save(LedgerRow(f"short-{DATE}", "scheduled", None, "videoSHORT", "sha"))
    asked = server.fake.add_comment("videoSHORT", "shortsfan", "what's the song at 0:10")
    live = _live(server, tmp_path)
    for _ in range(2):
        assert _run(data_dir, instance, youtube=live).success
    rows = {row["comment_id"]: row for row in _queue(data_dir).rows(DATE)}
    assert len(rows) == len(COMMENTS) + 1  # once across runs
    assert (rows[asked]["video_id"], rows[asked]["category"]) == ("videoSHORT", "track_id")
    assert server.count(TRACKLIST) == 1
    (pinned,) = [t for t in server.fake.comment_threads
                 if t["snippet"]["topLevelComment"]["snippet"]["authorChannelId"]["value"] == CHANNEL_ID]  # fmt: skip
    assert pinned["snippet"]["videoId"] == VIDEO
    _queue(data_dir).decide([asked], approve=True)
    assert _run(data_dir, instance, youtube=live).success
    assert list(server.fake.replies) == [asked] and server.count(REPLY) == 1
    # A dry run lists the Short's read as well.
    stage_release(data_dir, "2026-11-27")
    UploadLedger(store).save(LedgerRow("short-2026-11-27", "scheduled", None, "videoS2", "sha"))
    result = dg.materialize(
        ASSETS, selection=[comment_replies], partition_key="2026-11-27", instance=instance,
        resources=make_resources(data_dir),
    )  # fmt: skip
    assert result.success
    manifest = json.loads((data_dir / "comment_replies/2026-11-27/manifest.json").read_text())
    reads = [r["uri"] for r in manifest["requests"] if r["call"] == "commentThreads.list"]
    assert len(reads) == 2 and "videoId=videoS2" in reads[1]
