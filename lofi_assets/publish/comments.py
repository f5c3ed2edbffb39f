"""Comments on a release: read, classified, answered only with an operator's approval, and a
tracklist comment posted once.

Classification rules and reply templates are data (``assets_library/comments.yaml``): the
first category whose pattern matches wins (spam, track-ID request, style request, question,
praise; ``other`` when none does). A drafted reply waits in the warehouse's approval queue
(``comment_queue``, status ``pending``) until an operator approves it (run config of
``comment_replies``, or ``lofi comments approve``); nothing is posted by default.

Exactly once, as the upload ledger does it: a reply's row goes ``approved`` → ``posting``
(saved before the request) → ``posted`` (saved after). A row found ``posting`` was sent by a
run that may have died before saving the answer, so YouTube is asked first (``comments.list``
by ``parentId``: a reply of ours with the same text is adopted). The release's tracklist
comment follows the same states in ``pinned_comments``; before any insert, the video's
threads are searched for our own comment with the same text.

The Data API cannot pin a comment (YouTube Studio only: the commentThreads resource has no
such field, https://developers.google.com/youtube/v3/docs/commentThreads), so the tracklist
comment is posted once and the operator pins it with one click.

Quota (https://developers.google.com/youtube/v3/determine_quota_cost): channels.list 1,
commentThreads.list 1 a page of 100, comments.list 1, comments.insert 50 a reply,
commentThreads.insert 50 (the tracklist, once per release).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import jinja2
import yaml

from lofi_assets.audio.release_mix import Chapter
from lofi_assets.errors import ConfigError, LofiError
from lofi_assets.music.styles import assets_library_dir, get_style
from lofi_assets.publish.feedback import StyleBoost, add_boost
from lofi_assets.publish.metadata import timestamp
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets.seeding import stable_seed

CATEGORIES = ("spam", "track_id", "style_request", "question", "praise", "other")
STATUSES = ("pending", "approved", "posting", "posted", "rejected", "spam", "no_reply")
MAX_COMMENT_CHARS = 10_000  # YouTube's comment box (YouTube Help, "Post & reply to comments")
STYLE_REQUEST_BOOST_FACTOR = 1.5
COMMENT_TABLES = (
    """CREATE TABLE IF NOT EXISTS comment_queue (
        comment_id VARCHAR PRIMARY KEY,
        release_date VARCHAR NOT NULL,
        video_id VARCHAR NOT NULL,
        author VARCHAR NOT NULL,
        text VARCHAR NOT NULL,
        category VARCHAR NOT NULL,
        style VARCHAR,
        draft VARCHAR,
        status VARCHAR NOT NULL,
        reply_id VARCHAR,
        updated_at VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS pinned_comments (
        release_date VARCHAR PRIMARY KEY,
        video_id VARCHAR NOT NULL,
        state VARCHAR NOT NULL,
        comment_id VARCHAR,
        text VARCHAR NOT NULL,
        updated_at VARCHAR NOT NULL
    )""",
)


class CommentQueueError(LofiError):
    """An approval names a comment the queue does not hold, or one that cannot be approved."""


@dataclass(frozen=True)
class CommentThread:
    """A top-level comment (commentThreads resource): ids, the author's name and channel,
    the plain text, ``published_at`` RFC 3339."""

    thread_id: str
    comment_id: str
    video_id: str
    author: str
    author_channel_id: str
    text: str
    published_at: str


@dataclass(frozen=True)
class Classification:
    category: str  # one of CATEGORIES
    style: str | None = None  # the requested style preset, for style_request


@dataclass(frozen=True)
class CommentRules:
    """``categories``: name → compiled patterns, in the order they are tried; ``styles``:
    preset → the words that name it; ``replies``: category → reply templates."""

    categories: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]
    styles: dict[str, tuple[str, ...]]
    replies: dict[str, tuple[str, ...]]


@cache
def load_rules() -> CommentRules:
    """``assets_library/comments.yaml``. Raises ConfigError for an unknown category, a bad
    pattern or a style that is not a preset."""
    path = assets_library_dir() / "comments.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    categories = []
    for entry in document["categories"]:
        if entry["name"] not in CATEGORIES:
            raise ConfigError(f"{path}: unknown category {entry['name']!r}: use {CATEGORIES}")
        try:
            compiled = tuple(re.compile(p, re.IGNORECASE) for p in entry["patterns"])
        except re.error as error:
            raise ConfigError(f"{path}: a pattern of {entry['name']} is invalid: {error}") from None
        categories.append((entry["name"], compiled))
    styles = {name: tuple(words) for name, words in document["styles"].items()}
    for name in styles:
        get_style(name)  # raises for a style that is not a preset
    replies = {name: tuple(texts) for name, texts in document["replies"].items()}
    return CommentRules(tuple(categories), styles, replies)


_UNSPACED_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")


def _word_pattern(word: str) -> str:
    """A style word as a whole word; in scripts written without spaces between words
    (Japanese, Chinese; Korean attaches particles: 재즈를) it is found inside the text."""
    if any(unicodedata.name(c, "").startswith(_UNSPACED_SCRIPTS) for c in word):
        return re.escape(word)
    return rf"(?<!\w){re.escape(word)}(?!\w)"


def requested_style(text: str, rules: CommentRules) -> str | None:
    """The first style preset one of whose words the text names as a word."""
    lowered = text.lower()
    for style, words in rules.styles.items():
        if any(re.search(_word_pattern(word.lower()), lowered) for word in words):
            return style
    return None


def classify(text: str, rules: CommentRules) -> Classification:
    """The comment's category by the rules (first match wins; a style request also needs a
    style word), ``other`` when nothing matches."""
    for category, patterns in rules.categories:
        if not any(pattern.search(text) for pattern in patterns):
            continue
        if category == "style_request":
            style = requested_style(text, rules)
            if style is None:
                continue
            return Classification(category, style)
        return Classification(category)
    return Classification("other")


_ENVIRONMENT = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
MAX_AUTHOR_CHARS = 40  # of a viewer's name in a drafted reply
_KEPT_FORMAT_CHARS = {"\u200c", "\u200d"}  # ZWNJ/ZWJ: scripts and emoji sequences need them
FALLBACK_AUTHOR = "friend"


def plain_text(text: str) -> str:
    """``text`` without control and format characters (terminal escapes, bidi overrides such
    as U+202E that reorder what an operator reads, zero-width spaces), whitespace collapsed:
    a viewer's text or name fit to show in a terminal or to quote in a reply."""
    kept = (
        " " if c.isspace() else c
        for c in text
        if c.isspace() or c in _KEPT_FORMAT_CHARS or unicodedata.category(c) not in ("Cc", "Cf")
    )
    return " ".join("".join(kept).split())


def reply_name(author: str, rules: CommentRules) -> str:
    """The viewer's name as a reply quotes it: plain (``plain_text``), at most
    ``MAX_AUTHOR_CHARS``, and ``FALLBACK_AUTHOR`` for a name that is empty or that the spam
    rules match (a name like "free subs at scam.example" is not repeated by the channel)."""
    name = plain_text(author)[:MAX_AUTHOR_CHARS].strip()
    if not name or classify(name, rules).category == "spam":
        return FALLBACK_AUTHOR
    return name


def draft_reply(
    thread: CommentThread,
    classification: Classification,
    rules: CommentRules,
    *,
    title: str,
    channel: str,
    tracklist: str,
) -> str | None:
    """The reply to approve, from the category's templates (None: spam and ``other`` get no
    reply). The template is drawn with a seed of the comment id: the same draft every run."""
    templates = rules.replies.get(classification.category)
    if not templates:
        return None
    rng = random.Random(stable_seed("comment reply", thread.comment_id))
    style = get_style(classification.style).display_name if classification.style else ""
    text = _ENVIRONMENT.from_string(rng.choice(templates)).render(
        author=reply_name(thread.author, rules),
        title=title,
        channel=channel,
        tracklist=tracklist,
        style=style,
    )
    return text[:MAX_COMMENT_CHARS]


def tracklist_comment(title: str, chapters: Sequence[Chapter]) -> str:
    """The text of the release's tracklist comment (chapter timestamps as YouTube links them)."""
    lines = [f"{timestamp(chapter.start_s)} {chapter.title}" for chapter in chapters]
    return f"Tracklist · {title}\n" + "\n".join(lines)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class CommentQueue:
    """The approval queue and the tracklist comments, in the warehouse."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        for statement in COMMENT_TABLES:
            warehouse.execute(statement)

    def known(self, comment_ids: Sequence[str]) -> set[str]:
        if not comment_ids:
            return set()
        marks = ", ".join("?" for _ in comment_ids)
        rows = self.warehouse.query(
            f"SELECT comment_id FROM comment_queue WHERE comment_id IN ({marks})", list(comment_ids)
        )
        return {row["comment_id"] for row in rows}

    def add(
        self, release_date: str, thread: CommentThread, found: Classification, draft: str | None
    ):
        status = "spam" if found.category == "spam" else "pending" if draft else "no_reply"
        self.warehouse.execute(
            "INSERT INTO comment_queue VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (comment_id) DO NOTHING",
            [
                thread.comment_id,
                release_date,
                thread.video_id,
                thread.author,
                thread.text,
                found.category,
                found.style,
                draft,
                status,
                None,
                _now(),
            ],
        )

    def rows(self, release_date: str | None = None, status: str | None = None) -> list[dict]:
        sql, parameters = "SELECT * FROM comment_queue WHERE 1 = 1", []
        if release_date:
            sql, parameters = sql + " AND release_date = ?", [*parameters, release_date]
        if status:
            sql, parameters = sql + " AND status = ?", [*parameters, status]
        return self.warehouse.query(sql + " ORDER BY release_date, comment_id", parameters)

    def decide(self, comment_ids: Sequence[str], approve: bool) -> list[str]:
        """Approve (or reject) comments with a draft that was not sent: pending ones, and an
        operator may change their mind (approved → rejected before the reply is posted,
        rejected → approved); returns the ids changed.

        Raises:
            CommentQueueError: an id the queue does not hold, or one that cannot be decided
                (posting, posted, spam, without a draft); nothing is changed then.
        """
        wanted = list(dict.fromkeys(comment_ids))
        rows = {row["comment_id"]: row for row in self.rows()}
        unknown = [c for c in wanted if c not in rows]
        if unknown:
            raise CommentQueueError(
                f"No comment {', '.join(unknown)} in the queue: see `lofi comments list`"
            )
        target = "approved" if approve else "rejected"
        undecided = ("pending", "approved", "rejected")
        refused = [c for c in wanted if rows[c]["status"] not in undecided]
        if refused:
            states = ", ".join(f"{c} is {rows[c]['status']}" for c in refused)
            raise CommentQueueError(
                f"Only comments whose reply was not sent can be {target}: {states}"
            )
        changed = [c for c in wanted if rows[c]["status"] != target]
        # Guarded by the status: a run that began posting meanwhile keeps its row.
        self.warehouse.execute_many(
            [
                (
                    "UPDATE comment_queue SET status = ?, updated_at = ? WHERE comment_id = ? "
                    "AND status IN ('pending', 'approved', 'rejected')",
                    [target, _now(), c],
                )
                for c in changed
            ]
        )
        return changed

    def claim(self, comment_id: str) -> bool:
        """Mark an approved (or ``posting``) reply ``posting`` before it is sent; False when
        the operator withdrew the approval meanwhile (nothing may be sent then)."""
        self.warehouse.execute(
            "UPDATE comment_queue SET status = 'posting', updated_at = ? WHERE comment_id = ? "
            "AND status IN ('approved', 'posting')",
            [_now(), comment_id],
        )
        rows = self.warehouse.query(
            "SELECT status FROM comment_queue WHERE comment_id = ?", [comment_id]
        )
        return bool(rows) and rows[0]["status"] == "posting"

    def set_status(self, comment_id: str, status: str, reply_id: str | None = None) -> None:
        self.warehouse.execute(
            "UPDATE comment_queue SET status = ?, reply_id = coalesce(?, reply_id), "
            "updated_at = ? WHERE comment_id = ?",
            [status, reply_id, _now(), comment_id],
        )

    def style_requests(self) -> dict[str, int]:
        rows = self.warehouse.query(
            "SELECT style, count(*) AS n FROM comment_queue WHERE category = 'style_request' "
            "AND style IS NOT NULL GROUP BY style ORDER BY style"
        )
        return {row["style"]: int(row["n"]) for row in rows}

    def pinned(self, release_date: str) -> dict | None:
        rows = self.warehouse.query(
            "SELECT * FROM pinned_comments WHERE release_date = ?", [release_date]
        )
        return rows[0] if rows else None

    def save_pinned(
        self, release_date: str, video_id: str, state: str, text: str, comment_id: str | None = None
    ) -> None:
        self.warehouse.execute(
            "INSERT INTO pinned_comments VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (release_date) "
            "DO UPDATE SET state = EXCLUDED.state, comment_id = EXCLUDED.comment_id, "
            "updated_at = EXCLUDED.updated_at",
            [release_date, video_id, state, comment_id, text, _now()],
        )


def feed_style_requests(
    counts: dict[str, int], boosts_path, threshold: int, effective_from: str
) -> list[str]:
    """A style boost (``STYLE_REQUEST_BOOST_FACTOR``, from ``effective_from``) for every
    ``threshold`` requests of a style, as breakouts add theirs (``feedback.add_boost``, one per
    key: ``requests-<style>-<n>``, so a re-run adds none). Returns the keys added.

    Raises ConfigError for a threshold below 1."""
    if threshold < 1:
        raise ConfigError(f"style_request_threshold {threshold}: give 1 or more requests")
    added = []
    for style, count in sorted(counts.items()):
        for step in range(1, count // threshold + 1):
            key = f"requests-{style}-{step * threshold}"
            boost = StyleBoost(
                style=style,
                factor=STYLE_REQUEST_BOOST_FACTOR,
                effective_from=effective_from,
                video_id=key,
                reason=f"{step * threshold} comments asked for more {style}",
            )
            if add_boost(boosts_path, boost):
                added.append(key)
    return added


def parse_thread(item: dict[str, Any]) -> CommentThread:
    """A commentThreads.list item as a CommentThread."""
    top = item["snippet"]["topLevelComment"]
    snippet = top["snippet"]
    return CommentThread(
        thread_id=item["id"],
        comment_id=top["id"],
        video_id=snippet.get("videoId", ""),
        author=snippet.get("authorDisplayName", ""),
        author_channel_id=snippet.get("authorChannelId", {}).get("value", ""),
        text=snippet.get("textOriginal", snippet.get("textDisplay", "")),
        published_at=snippet.get("publishedAt", ""),
    )


def thread_list_request(youtube: Any, video_id: str, page_token: str | None = None) -> Any:
    """commentThreads.list of a video, newest first, 100 a page, plain text (1 unit)."""
    options = {"pageToken": page_token} if page_token else {}
    return youtube.commentThreads().list(
        part="snippet",
        videoId=video_id,
        maxResults=100,
        order="time",
        textFormat="plainText",
        **options,
    )


def reply_request(youtube: Any, parent_id: str, text: str) -> Any:
    """comments.insert of a reply (50 units)."""
    return youtube.comments().insert(
        part="snippet", body={"snippet": {"parentId": parent_id, "textOriginal": text}}
    )


def tracklist_request(youtube: Any, channel_id: str, video_id: str, text: str) -> Any:
    """commentThreads.insert of the tracklist comment (50 units)."""
    return youtube.commentThreads().insert(
        part="snippet",
        body={
            "snippet": {
                "channelId": channel_id,
                "videoId": video_id,
                "topLevelComment": {"snippet": {"textOriginal": text}},
            }
        },
    )


@dataclass
class CommentRunOutcome:
    """What one run did: new comments queued by category, replies posted, the tracklist's
    state (``posted`` this run, ``adopted``, ``already``), style boosts added."""

    queued: dict[str, int]
    posted: list[str]
    tracklist: str
    boosts: list[str]


class CommentManager:
    """One release's comments against the API (``execute``: the Retrier's, which raises
    PublishError for refusals and retries 5xx)."""

    def __init__(
        self,
        youtube: Any,
        queue: CommentQueue,
        execute: Callable[[Any, str], Any],
        log: Callable[[str], None] = lambda message: None,
        max_pages: int = 5,
    ) -> None:
        self.youtube, self.queue, self.execute, self.log = youtube, queue, execute, log
        self.max_pages = max_pages

    def channel_id(self) -> str:
        response = self.execute(
            self.youtube.channels().list(part="id", mine=True), "find the channel"
        )
        items = response.get("items", [])
        if not items:
            raise ConfigError("The token's account has no YouTube channel")
        return str(items[0]["id"])

    def threads(self, video_id: str) -> list[CommentThread]:
        found, token = [], None
        for _ in range(self.max_pages):
            page = self.execute(thread_list_request(self.youtube, video_id, token), "read comments")
            found += [parse_thread(item) for item in page.get("items", [])]
            token = page.get("nextPageToken")
            if not token:
                break
        return found

    def run(
        self,
        *,
        release_date: str,
        video_id: str,
        title: str,
        channel: str,
        tracklist: str,
        rules: CommentRules,
        other_video_ids: Sequence[str] = (),
    ) -> CommentRunOutcome:
        """Queue the new comments of the release's video and of ``other_video_ids`` (the
        day's Short) with drafts, post the approved replies, post the tracklist comment once
        (on the release's video). Raises PublishError (quota, 403 …) and TimeoutError."""
        ours = self.channel_id()
        threads = self.threads(video_id)
        others = [
            t
            for other in dict.fromkeys(other_video_ids)
            if other != video_id
            for t in self.threads(other)
        ]
        theirs = [t for t in [*threads, *others] if t.author_channel_id != ours]
        known = self.queue.known([t.comment_id for t in theirs])
        queued: dict[str, int] = {}
        for thread in theirs:
            if thread.comment_id in known:
                continue
            found = classify(thread.text, rules)
            draft = draft_reply(
                thread, found, rules, title=title, channel=channel, tracklist=tracklist
            )
            self.queue.add(release_date, thread, found, draft)
            queued[found.category] = queued.get(found.category, 0) + 1
        posted = self._post_approved(release_date, ours)
        state = self._post_tracklist(release_date, video_id, ours, threads, tracklist)
        return CommentRunOutcome(queued, posted, state, [])

    def _post_approved(self, release_date: str, ours: str) -> list[str]:
        posted = []
        rows = self.queue.rows(release_date, "posting") + self.queue.rows(release_date, "approved")
        for row in rows:
            comment_id, text = row["comment_id"], row["draft"]
            if row["status"] == "posting":  # sent by a run that may have died: ask first
                replies = self.execute(
                    self.youtube.comments().list(
                        part="snippet", parentId=comment_id, maxResults=100, textFormat="plainText"
                    ),
                    "look for our reply",
                ).get("items", [])
                mine = [
                    r
                    for r in replies
                    if r["snippet"].get("authorChannelId", {}).get("value") == ours
                    and r["snippet"].get("textOriginal") == text
                ]
                if mine:
                    self.queue.set_status(comment_id, "posted", mine[0]["id"])
                    self.log(f"Reply to {comment_id} was already posted: adopted {mine[0]['id']}")
                    continue
            if not self.queue.claim(comment_id):
                self.log(f"Reply to {comment_id} is no longer approved: not sent")
                continue
            reply = self.execute(reply_request(self.youtube, comment_id, text), "post a reply")
            self.queue.set_status(comment_id, "posted", reply["id"])
            posted.append(comment_id)
        return posted

    def _post_tracklist(
        self,
        release_date: str,
        video_id: str,
        ours: str,
        threads: Sequence[CommentThread],
        text: str,
    ) -> str:
        row = self.queue.pinned(release_date)
        if row is not None and row["state"] == "posted":
            return "already"
        mine = [t for t in threads if t.author_channel_id == ours and t.text == text]
        if mine:
            self.queue.save_pinned(release_date, video_id, "posted", text, mine[0].thread_id)
            self.log(f"The tracklist comment is on the video: adopted {mine[0].thread_id}")
            return "adopted"
        self.queue.save_pinned(release_date, video_id, "posting", text)
        created = self.execute(
            tracklist_request(self.youtube, ours, video_id, text), "post the tracklist"
        )
        self.queue.save_pinned(release_date, video_id, "posted", text, created["id"])
        self.log(f"Posted the tracklist comment {created['id']}: pin it in YouTube Studio")
        return "posted"


def recent_live_releases(warehouse: Warehouse, count: int) -> list[str]:
    """The dates of the ``count`` newest daily releases on YouTube (the upload ledger)."""
    rows = warehouse.query(
        "SELECT release_date FROM youtube_uploads WHERE video_id IS NOT NULL "
        "AND release_date NOT LIKE 'weekly-%' AND release_date NOT LIKE 'short-%' "
        "ORDER BY release_date DESC LIMIT ?",
        [count],
    )
    return sorted(str(row["release_date"]) for row in rows)
