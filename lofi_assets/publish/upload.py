"""Publishing a release on YouTube, exactly once, however often it is retried.

The ledger (tables in the warehouse) records each release's progress through
planned → session → uploaded → thumbnail → playlisted → scheduled, saved right after every
side effect. A re-run reads it and does only what is missing: an upload interrupted mid-way
resumes its saved session (the server says how many bytes it has), a finished one is never
sent again.

Where the ledger cannot know (a reply lost, a save that failed after the side effect), YouTube
is asked before anything is created twice: before any new ``videos.insert`` the channel's uploads
are searched for the release's marker tag (``lofi-release-<date>``, set on every upload) and a
video found is adopted; before a ``playlistItems.insert`` the playlist is searched for the video.

The video goes up with the resumable protocol in chunks, driven by our own retry loop:
``next_chunk(num_retries=0)``, exponential backoff with jitter on 500/502/503/504, on dropped
connections and on chunks the server kept nothing of. After a failure the library's next call
asks the server where the upload stands (``bytes */N``) instead of re-sending a stream it has
already read, which is what its built-in chunk retry would do. Each chunk is sent from a
rewindable in-memory copy, so the OAuth wrapper's re-send after a token refresh (401) sends the
whole chunk again. A session that answers 404/410 is replaced by a new one, at most
``SessionRestartPolicy.max_sessions`` times a run, with backoff. Quota and upload-limit refusals
are never retried. A channel not allowed custom thumbnails (unverified) gets its playlists and
schedule anyway; the thumbnail stays pending in the ledger and is set by a later run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import random
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from googleapiclient.errors import HttpError
from googleapiclient.http import MediaFileUpload

from lofi_assets.publish.localize import localization_problems
from lofi_assets.publish.metadata import MAX_TAGS_CHARS, problems, tags_length
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets.publish.youtube import (
    ENDPOINT_ENV,
    MAX_ATTEMPTS,
    RETRIABLE_STATUSES,
    TRANSIENT_ERRORS,
    PublishError,
    Retrier,
    TokenServerUnreachableError,
    YouTubeClients,
    refusal,
)
from lofi_assets.storage import write_json_atomic

STATES = ("planned", "session", "uploaded", "thumbnail", "playlisted", "scheduled")
MUSIC_CATEGORY_ID = "10"
DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024  # a multiple of 256 KiB, as the protocol requires
RELEASE_TAG_PREFIX = "lofi-release-"
RELEASE_KINDS = ("daily", "weekly", "short")
# Custom thumbnails need a verified channel (YouTube Help, "Add video thumbnails",
# https://support.google.com/youtube/answer/72431); thumbnails.set answers 403 forbidden until
# then (https://developers.google.com/youtube/v3/docs/thumbnails/set#errors).
VERIFY_URL = "https://www.youtube.com/verify"
# Upload states YouTube gives videos that did not become a video: never adopted.
FAILED_UPLOAD_STATUSES = frozenset({"failed", "rejected", "deleted"})


def release_tag(release_date: str) -> str:
    """The tag that marks a release's video on the channel (``lofi-release-2026-11-27``)."""
    return f"{RELEASE_TAG_PREFIX}{release_date}"


def tags_with_marker(tags: list[str], marker: str) -> list[str]:
    """``tags`` then ``marker``, within YouTube's 500 characters: when they do not fit, the
    last (least important) tags make room. Tags already over the limit are left as they are,
    for ``body_problems`` to report."""
    kept = [tag for tag in tags if tag != marker]
    if tags_length(kept) <= MAX_TAGS_CHARS:
        while kept and tags_length([*kept, marker]) > MAX_TAGS_CHARS:
            kept.pop()
    return [*kept, marker]


@dataclass(frozen=True)
class SessionRestartPolicy:
    """How many upload sessions (``videos.insert``) one run may open, and the wait before each
    one that replaces a failed session.

    A saved session expires after about a week and then answers 404 or 410: one new session
    fixes that. A session opened moments ago does not expire, so 404s again and again mean the
    requests reach the wrong server (a misrouted endpoint, a proxy): the run stops after
    ``max_sessions`` with the reason instead of opening sessions for ever. The wait before
    replacement ``n`` (1-based) is ``min(cap_s, base_s * 2 ** (n - 1))`` times a jitter factor
    in [0.5, 1), the "equal jitter" that Retrier uses too.
    """

    max_sessions: int = 4
    base_s: float = 2.0
    cap_s: float = 60.0

    def delay_s(self, replacement: int, fraction: float) -> float:
        """Seconds to wait before replacement ``replacement``; ``fraction`` is in [0, 1)."""
        return min(self.cap_s, self.base_s * 2 ** (replacement - 1)) * (0.5 + fraction / 2)


class _ChunkBody(io.BytesIO):
    """One upload chunk in memory: a stream that can be rewound, with a length.

    google-auth-httplib2's AuthorizedHttp answers a 401 by refreshing the token and sending the
    request again, rewinding the body first only when it has read, seek and tell. The library's
    slice of the file (``_StreamSlice``) has no seek: the second send promised the chunk's
    Content-Length and sent 0 bytes, and both sides waited for the socket timeout (60 s).
    """

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self._size = len(data)

    def __len__(self) -> int:  # next_chunk sizes a chunk that is not a stream with len()
        return self._size


class _RewindableChunkUpload(MediaFileUpload):
    """A resumable MediaFileUpload whose chunks are _ChunkBody copies, not slices of the file."""

    def has_stream(self) -> bool:
        return False  # next_chunk then asks getbytes for each chunk

    def getbytes(self, begin: int, length: int) -> _ChunkBody:
        return _ChunkBody(super().getbytes(begin, length))


@dataclass(frozen=True)
class ReleaseUpload:
    """Everything YouTube needs for one day's release.

    ``localizations`` maps a language (BCP-47, ``es``) to that language's ``title`` and
    ``description`` (videos resource, ``localizations``: it needs ``snippet.defaultLanguage``,
    https://developers.google.com/youtube/v3/docs/videos#localizations);
    ``default_audio_language`` is ``snippet.defaultAudioLanguage`` (None: left unset).
    ``thumbnail_path`` None: no custom thumbnail (a Short's frame is chosen by YouTube).
    """

    release_date: str
    video_path: Path
    thumbnail_path: Path | None
    title: str
    description: str
    tags: list[str]
    playlists: list[str]
    publish_at_utc: str  # RFC 3339
    default_language: str = "en"
    # "daily" (the day's release), "weekly" (the long-form mix of the week starting on
    # release_date) or "short" (the day's Short): the ledger and the marker tag keep them apart.
    kind: str = "daily"
    localizations: dict[str, dict[str, str]] = field(default_factory=dict)
    default_audio_language: str | None = None

    @classmethod
    def from_metadata_document(
        cls,
        document: dict[str, Any],
        *,
        release_date: str,
        video_path: Path,
        thumbnail_path: Path | None,
        kind: str = "daily",
        with_languages: bool = True,
    ) -> ReleaseUpload:
        """The release a metadata document (``ReleaseMetadata.to_document()``, as read from
        disk) describes: its ``title``, ``description``, ``tags``, ``playlists`` and
        ``publish_at_utc``; with ``with_languages`` also ``default_language``,
        ``default_audio_language`` and ``localizations`` (documents made before
        localizations existed have none of the three: English, unset, none). Raises
        ``KeyError`` for a document without one of the first five."""
        languages: dict[str, Any] = (
            {
                "default_language": document.get("default_language", "en"),
                "default_audio_language": document.get("default_audio_language"),
                "localizations": document.get("localizations", {}),
            }
            if with_languages
            else {}
        )
        return cls(
            release_date=release_date,
            video_path=video_path,
            thumbnail_path=thumbnail_path,
            title=document["title"],
            description=document["description"],
            tags=document["tags"],
            playlists=document["playlists"],
            publish_at_utc=document["publish_at_utc"],
            kind=kind,
            **languages,
        )

    @property
    def parts(self) -> str:
        """videos.insert's ``part``: the resource parts the body sets (a part not named is
        ignored by YouTube, so localizations must be named to be stored)."""
        return "snippet,status,localizations" if self.localizations else "snippet,status"

    @property
    def ledger_key(self) -> str:
        """The release's key in the ledger and in its marker tag: the date for a daily
        release (the rows written before weekly releases existed keep their keys), the kind
        and the date otherwise (``weekly-2026-11-22``)."""
        if self.kind not in RELEASE_KINDS:
            raise ValueError(f"Unknown release kind {self.kind!r}: use one of {RELEASE_KINDS}")
        return self.release_date if self.kind == "daily" else f"{self.kind}-{self.release_date}"

    def video_body(self, now: dt.datetime) -> dict[str, Any]:
        """The videos.insert body. A publish time already past leaves the video private."""
        status: dict[str, Any] = {
            "privacyStatus": "private",
            "selfDeclaredMadeForKids": False,
            "containsSyntheticMedia": True,  # YouTube's altered-or-synthetic-content disclosure
            "license": "youtube",
            "embeddable": True,
        }
        if parse_rfc3339(self.publish_at_utc) > now:
            status["publishAt"] = self.publish_at_utc
        snippet: dict[str, Any] = {
            "title": self.title,
            "description": self.description,
            # The marker tag finds the video again when the upload's reply was lost.
            "tags": tags_with_marker(list(self.tags), release_tag(self.ledger_key)),
            "categoryId": MUSIC_CATEGORY_ID,
            "defaultLanguage": self.default_language,
        }
        if self.default_audio_language:
            snippet["defaultAudioLanguage"] = self.default_audio_language
        body: dict[str, Any] = {"snippet": snippet, "status": status}
        if self.localizations:
            body["localizations"] = {
                language: {"title": text["title"], "description": text["description"]}
                for language, text in sorted(self.localizations.items())
            }
        return body


def parse_rfc3339(text: str) -> dt.datetime:
    """A YouTube time such as ``2026-11-27T14:00:00Z`` (RFC 3339, UTC) as an aware datetime."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def playlist_item_body(playlist_id: str, video_id: str) -> dict[str, Any]:
    return {
        "snippet": {
            "playlistId": playlist_id,
            "resourceId": {"kind": "youtube#video", "videoId": video_id},
        }
    }


def body_problems(body: dict[str, Any]) -> list[str]:
    """The metadata validator plus what the upload itself must declare; each localization
    is judged by the same validator (title 100 characters, description 5000 bytes), and
    localizations need ``snippet.defaultLanguage`` (YouTube answers 400
    ``defaultLanguageNotSet`` otherwise: videos.insert errors,
    https://developers.google.com/youtube/v3/docs/videos/insert#errors)."""
    snippet, status = body.get("snippet", {}), body.get("status", {})
    found = problems(snippet)
    localizations = body.get("localizations") or {}
    if localizations and not snippet.get("defaultLanguage"):
        found.append("localizations need snippet.defaultLanguage")
    found += localization_problems(localizations)
    if snippet.get("categoryId") != MUSIC_CATEGORY_ID:
        found.append(f"categoryId must be {MUSIC_CATEGORY_ID} (Music)")
    if status.get("selfDeclaredMadeForKids") is not False:
        found.append("selfDeclaredMadeForKids must be false")
    if status.get("containsSyntheticMedia") is not True:
        found.append("containsSyntheticMedia must be true: the music is AI-generated")
    if "publishAt" in status and status.get("privacyStatus") != "private":
        found.append("a scheduled video (publishAt) must be uploaded private")
    return found


def body_sha256(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


@dataclass
class LedgerRow:
    release_date: str
    state: str
    session_uri: str | None
    video_id: str | None
    body_sha256: str

    def reached(self, state: str) -> bool:
        return STATES.index(self.state) >= STATES.index(state)


class UploadLedger:
    """Per-release progress on YouTube, in the warehouse."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def load(self, release_date: str) -> LedgerRow | None:
        rows = self.warehouse.query(
            "SELECT release_date, state, session_uri, video_id, body_sha256 "
            "FROM youtube_uploads WHERE release_date = ?",
            [release_date],
        )
        return LedgerRow(**rows[0]) if rows else None

    def save(self, row: LedgerRow) -> None:
        self.warehouse.execute(
            "INSERT INTO youtube_uploads VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (release_date) "
            "DO UPDATE SET state = EXCLUDED.state, session_uri = EXCLUDED.session_uri, "
            "video_id = EXCLUDED.video_id, body_sha256 = EXCLUDED.body_sha256, "
            "updated_at = EXCLUDED.updated_at",
            [
                row.release_date,
                row.state,
                row.session_uri,
                row.video_id,
                row.body_sha256,
                dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            ],
        )

    def playlist_items(self, release_date: str) -> dict[str, str]:
        rows = self.warehouse.query(
            "SELECT playlist_title, item_id FROM youtube_playlist_items WHERE release_date = ?",
            [release_date],
        )
        return {row["playlist_title"]: row["item_id"] for row in rows}

    def save_playlist_item(self, release_date: str, title: str, playlist_id: str, item_id: str):
        self.warehouse.execute(
            "INSERT INTO youtube_playlist_items VALUES (?, ?, ?, ?) "
            "ON CONFLICT (release_date, playlist_title) DO NOTHING",
            [release_date, title, playlist_id, item_id],
        )

    def thumbnail_pending(self, release_date: str) -> str | None:
        """Why the release's thumbnail is still to be set, or None when nothing is pending."""
        rows = self.warehouse.query(
            "SELECT reason FROM youtube_pending_thumbnails WHERE release_date = ?", [release_date]
        )
        return str(rows[0]["reason"]) if rows else None

    def save_thumbnail_step(self, row: LedgerRow, pending_reason: str | None) -> None:
        """The row's state and the thumbnail's pending record (set, or cleared when None) in
        one transaction: a thumbnail set is never recorded without its state, nor the reverse."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        pending: tuple[str, list[Any]] = (
            ("DELETE FROM youtube_pending_thumbnails WHERE release_date = ?", [row.release_date])
            if pending_reason is None
            else (
                "INSERT INTO youtube_pending_thumbnails VALUES (?, ?, ?, ?) "
                "ON CONFLICT (release_date) DO UPDATE SET video_id = EXCLUDED.video_id, "
                "reason = EXCLUDED.reason",
                [row.release_date, row.video_id or "", pending_reason, now],
            )
        )
        self.warehouse.execute_many(
            [
                (
                    "UPDATE youtube_uploads SET state = ?, video_id = ?, updated_at = ? "
                    "WHERE release_date = ?",
                    [row.state, row.video_id, now, row.release_date],
                ),
                pending,
            ]
        )

    def uploaded_videos(self) -> list[dict[str, str]]:
        return self.warehouse.query(
            # Daily releases only: their key is a date, which the analytics read as one.
            "SELECT release_date, video_id FROM youtube_uploads "
            "WHERE video_id IS NOT NULL AND release_date NOT LIKE 'weekly-%' "
            "AND release_date NOT LIKE 'short-%' ORDER BY release_date"
        )


@dataclass
class PublishOutcome:
    video_id: str
    state: str
    steps_done: list[str] = field(default_factory=list)  # what this run did (empty: nothing left)
    retries: int = 0
    private_until_published_by_hand: bool = False
    thumbnail_pending: str = ""  # why the thumbnail is not set yet, and the fix ("" once set)


class Publisher:
    """Drives one release through the ledger's states against the YouTube API."""

    def __init__(
        self,
        clients: YouTubeClients,
        ledger: UploadLedger,
        log: Callable[[str], None] = lambda message: None,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        restarts: SessionRestartPolicy = SessionRestartPolicy(),
    ) -> None:
        self.clients, self.ledger, self.log = clients, ledger, log
        self.chunk_bytes, self.now, self.sleep, self.restarts = chunk_bytes, now, sleep, restarts
        self.retrier = Retrier(log, sleep, max_attempts)
        self._execute = self.retrier.execute

    # -- the steps ------------------------------------------------------------------------
    def publish(self, release: ReleaseUpload) -> PublishOutcome:
        """Take the release as far as "scheduled", doing only what the ledger lacks.

        Raises QuotaExceededError (quota or upload limit spent), CredentialsError, PublishError
        for any other refusal or after ``restarts.max_sessions`` failed upload sessions, and
        TimeoutError after ``max_attempts`` failed tries in a row of one request. A thumbnail
        the channel may not set yet is not an error: it is returned (and kept) as pending.
        """
        body = release.video_body(self.now())
        found = body_problems(body)
        if found:
            raise ValueError(f"The upload for {release.ledger_key} is invalid: {found}")
        row = self.ledger.load(release.ledger_key)
        if row is None:
            row = LedgerRow(release.ledger_key, "planned", None, None, body_sha256(body))
            self.ledger.save(row)
        done: list[str] = []
        if not row.reached("uploaded"):
            done.append(self._upload_video(release, body, row))
        pending = self.ledger.thumbnail_pending(release.ledger_key)
        if release.thumbnail_path is None and not row.reached("thumbnail"):
            row.state = "thumbnail"  # nothing to set: YouTube picks a Short's frame
            self.ledger.save_thumbnail_step(row, None)
        elif not row.reached("thumbnail") or pending is not None:
            pending = self._set_thumbnail(release, row)
            if pending is None:
                done.append("thumbnail")
            else:
                self.log(pending)
            if not row.reached("thumbnail"):
                row.state = "thumbnail"
            self.ledger.save_thumbnail_step(row, pending)
        if not row.reached("playlisted"):
            self._add_to_playlists(release, row)
            row.state = "playlisted"
            self.ledger.save(row)
            done.append("playlisted")
        private = "publishAt" not in body["status"]
        if not row.reached("scheduled"):
            self._confirm_schedule(row, body)
            row.state = "scheduled"
            self.ledger.save(row)
            done.append("scheduled")
        return PublishOutcome(
            row.video_id or "", row.state, done, self.retrier.retries, private, pending or ""
        )

    def _upload_video(self, release: ReleaseUpload, body: dict, row: LedgerRow) -> str:
        """The video on YouTube, its id in ``row``: "uploaded", or "adopted" when the channel
        already had it (an earlier run's upload whose reply was lost).

        Raises PublishError when ``restarts.max_sessions`` sessions failed in a row, and what
        ``_send_in_session`` raises.
        """
        marker = release_tag(release.ledger_key)
        new_sessions, failures = 0, []
        while True:
            if row.session_uri is None:  # a new videos.insert: never one the channel has
                if new_sessions == self.restarts.max_sessions:
                    raise PublishError(
                        f"Gave up uploading the video for {release.ledger_key}: "
                        f"{new_sessions} new upload sessions in a row failed "
                        f"({'; '.join(dict.fromkeys(failures))}). A session YouTube has just "
                        "opened does not expire, so the upload requests reach the wrong server: "
                        f"check {ENDPOINT_ENV} (unset, the requests go to YouTube itself) and any "
                        "proxy, then re-run the partition",
                        "sessionsExhausted",
                    )
                if failures:
                    delay_s = self.restarts.delay_s(len(failures), random.random())
                    self.log(f"Starting upload session {new_sessions + 1} in {delay_s:.1f} s")
                    self.sleep(delay_s)
                found = self._uploaded_video(marker)
                if found is not None:
                    row.video_id, row.session_uri, row.state = found, None, "uploaded"
                    self.ledger.save(row)
                    self.log(f"Video {found} (tag {marker}) is on the channel: adopted it")
                    return "adopted"
                new_sessions += 1
            failure = self._send_in_session(release, body, row)
            if failure is None:
                return "uploaded"
            failures.append(failure)

    def _send_in_session(self, release: ReleaseUpload, body: dict, row: LedgerRow) -> str | None:
        """Send the video in the session saved in ``row`` (asking it where it stands) or in a
        new one. None once the video exists (its id in ``row``); the reason when the session
        is gone (404/410: expired, or never YouTube's), with ``row`` left without a session.

        Raises PublishError for a refusal, and TimeoutError after ``max_attempts`` failed
        tries in a row (5xx answers, dropped connections, chunks the server kept nothing of).
        """
        media = _RewindableChunkUpload(
            str(release.video_path),
            mimetype="video/mp4",
            chunksize=self.chunk_bytes,
            resumable=True,
        )
        request = self.clients.youtube.videos().insert(
            part=release.parts, body=body, media_body=media, notifySubscribers=True
        )
        if row.session_uri:  # a run before this one started the upload: ask where it stands
            self.log(f"Resuming the upload session saved for {release.ledger_key}")
            request.resumable_uri = row.session_uri
            request._in_error_state = True  # next_chunk then queries with "bytes */size"
        total = media.size()
        attempt, response, progress = 0, None, request.resumable_progress
        while response is None:
            try:
                _status, response = request.next_chunk(num_retries=0)
            except HttpError as error:
                code = error.resp.status
                if code in (404, 410) and request.resumable_uri:
                    # The session is gone. No video exists from it: YouTube creates the video
                    # only when an upload completes (and a completed one is searched for
                    # before the next session).
                    host = urllib.parse.urlparse(request.resumable_uri).netloc
                    self.log(f"The upload session on {host} answered HTTP {code}")
                    row.session_uri, row.state = None, "planned"
                    self.ledger.save(row)
                    return f"HTTP {code} from the session on {host}"
                if code not in RETRIABLE_STATUSES:
                    raise refusal(error, "upload the video") from error
                attempt += 1
                self.retrier.backoff(attempt, "upload the video", f"HTTP {code}")
                continue
            except TokenServerUnreachableError:
                # The token server, not the upload, is down: fail the step now (as
                # Retrier.execute does); the saved session resumes on its retry.
                raise
            except TRANSIENT_ERRORS as error:
                attempt += 1
                self.retrier.backoff(
                    attempt, "upload the video", f"{type(error).__name__}: {error}"
                )
                continue
            if request.resumable_uri and request.resumable_uri != row.session_uri:
                row.session_uri, row.state = request.resumable_uri, "session"
                self.ledger.save(row)
            if response is not None:
                break
            if request.resumable_progress > progress:
                attempt, progress = 0, request.resumable_progress
                self.log(f"Uploaded {progress * 100 // max(1, total)} %")
            else:  # "resume incomplete" with nothing more kept: count it as a failed try
                attempt += 1
                self.retrier.backoff(
                    attempt, "upload the video", f"the server kept nothing past byte {progress}"
                )
        row.video_id, row.state = response["id"], "uploaded"
        self.ledger.save(row)
        self.log(f"Video {row.video_id} uploaded ({total / 1e6:.1f} MB)")
        return None

    def _uploaded_video(self, marker: str) -> str | None:
        """The id of the channel's upload tagged ``marker``, or None.

        channels.list(mine) names the uploads playlist; playlistItems.list pages through it
        and videos.list reads each page's tags (a playlist item carries no tags). Each call
        costs 1 quota unit, so 1 + 2 per 50 uploads, where search.list(forMine) costs 100 a
        page and a videos.insert 1600
        (https://developers.google.com/youtube/v3/determine_quota_cost).
        """
        youtube = self.clients.youtube
        channels = self._execute(
            youtube.channels().list(part="contentDetails", mine=True), "find the uploads playlist"
        )
        if not channels.get("items"):
            return None
        uploads = channels["items"][0]["contentDetails"]["relatedPlaylists"]["uploads"]
        request = youtube.playlistItems().list(
            part="contentDetails", playlistId=uploads, maxResults=50
        )
        while request is not None:
            page = self._execute(request, "list the channel's uploads")
            ids = [item["contentDetails"]["videoId"] for item in page.get("items", [])]
            if ids:
                videos = self._execute(
                    youtube.videos().list(part="snippet,status", id=",".join(ids)),
                    "read the tags of the channel's uploads",
                )
                for video in videos.get("items", []):
                    upload_status = video.get("status", {}).get("uploadStatus")
                    tags = video.get("snippet", {}).get("tags", [])
                    if marker in tags and upload_status not in FAILED_UPLOAD_STATUSES:
                        return str(video["id"])
            request = youtube.playlistItems().list_next(request, page)
        return None

    def _set_thumbnail(self, release: ReleaseUpload, row: LedgerRow) -> str | None:
        """Set the video's custom thumbnail: None when set, the reason (with the fix) when the
        channel may not use custom thumbnails yet. Raises PublishError for any other refusal."""
        if release.thumbnail_path is None:
            return None
        try:
            self._execute(
                self.clients.youtube.thumbnails().set(
                    videoId=row.video_id,
                    media_body=MediaFileUpload(str(release.thumbnail_path), mimetype="image/jpeg"),
                ),
                "set the thumbnail",
            )
        except PublishError as error:
            if error.reason != "forbidden":
                raise
            return (
                f"YouTube refused the custom thumbnail of video {row.video_id} (HTTP 403 "
                "forbidden): the channel must be verified to use custom thumbnails. Verify it "
                f"with a phone number at {VERIFY_URL} (it can take YouTube 24 hours to allow "
                "them); the playlists and the schedule went ahead, and the next run of this "
                "partition sets the thumbnail"
            )
        return None

    def _playlist_id(self, title: str) -> str:
        youtube = self.clients.youtube
        request = youtube.playlists().list(part="snippet", mine=True, maxResults=50)
        while request is not None:
            response = self._execute(request, "list playlists")
            for item in response.get("items", []):
                if item["snippet"]["title"] == title:
                    return item["id"]
            request = youtube.playlists().list_next(request, response)
        created = self._execute(
            youtube.playlists().insert(
                part="snippet,status",
                body={"snippet": {"title": title}, "status": {"privacyStatus": "public"}},
            ),
            f"create the playlist {title!r}",
        )
        self.log(f"Created playlist {title!r}")
        return created["id"]

    def _add_to_playlists(self, release: ReleaseUpload, row: LedgerRow) -> None:
        already = self.ledger.playlist_items(release.ledger_key)
        for title in release.playlists:
            if title in already:
                continue
            playlist_id = self._playlist_id(title)
            # A run that added the video but could not record it must not add it twice: ask the
            # playlist first (playlistItems.list by videoId: 1 quota unit; an insert costs 50).
            found = self._execute(
                self.clients.youtube.playlistItems().list(
                    part="id", playlistId=playlist_id, videoId=row.video_id, maxResults=1
                ),
                f"look for the video in {title!r}",
            ).get("items", [])
            if found:
                item_id = found[0]["id"]
                self.log(f"The video is already in {title!r} (item {item_id})")
            else:
                item_id = self._execute(
                    self.clients.youtube.playlistItems().insert(
                        part="snippet", body=playlist_item_body(playlist_id, row.video_id or "")
                    ),
                    f"add the video to {title!r}",
                )["id"]
            self.ledger.save_playlist_item(release.ledger_key, title, playlist_id, item_id)

    def _confirm_schedule(self, row: LedgerRow, body: dict) -> None:
        """Read the video's status back; set it again if YouTube does not hold what we sent."""
        response = self._execute(
            self.clients.youtube.videos().list(part="status", id=row.video_id), "read the status"
        )
        items = response.get("items", [])
        wanted = body["status"]
        held = items[0].get("status", {}) if items else {}
        if (
            held.get("publishAt") != wanted.get("publishAt")
            or held.get("privacyStatus") != "private"
        ):
            self._execute(
                self.clients.youtube.videos().update(
                    part="status", body={"id": row.video_id, "status": wanted}
                ),
                "schedule the video",
            )


def dry_run_manifest(
    clients: YouTubeClients, release: ReleaseUpload, now: dt.datetime, out: Path
) -> dict[str, Any]:
    """Build every request of ``publish`` without sending one; write them to ``out``.

    The requests are made by the same client library calls as a live upload, so the manifest
    holds the exact methods, URLs and bodies YouTube would receive.
    """
    youtube = clients.youtube
    body = release.video_body(now)
    insert = youtube.videos().insert(
        part=release.parts,
        body=body,
        media_body=MediaFileUpload(str(release.video_path), mimetype="video/mp4", resumable=True),
        notifySubscribers=True,
    )
    requests = [("videos.insert", insert)]
    if release.thumbnail_path is not None:
        thumbnail = youtube.thumbnails().set(
            videoId="{video_id}",
            media_body=MediaFileUpload(str(release.thumbnail_path), mimetype="image/jpeg"),
        )
        requests.append(("thumbnails.set", thumbnail))
    for title in release.playlists:
        requests.append(
            (
                "playlistItems.insert",
                youtube.playlistItems().insert(
                    part="snippet", body=playlist_item_body(f"{{playlist:{title}}}", "{video_id}")
                ),
            )
        )
    manifest = {
        "release_date": release.release_date,
        "kind": release.kind,
        "ledger_key": release.ledger_key,
        "mode": "dry_run",
        "problems": body_problems(body),
        "requests": [_described(name, request) for name, request in requests],
    }
    write_json_atomic(out, manifest)
    return manifest


def describe_request(name: str, request: Any) -> dict[str, Any]:
    """How a dry-run manifest shows a built request (``_described``): call name, method,
    URL, JSON body, upload size."""
    return _described(name, request)


def _described(name: str, request: Any) -> dict[str, Any]:
    """Method, URL and JSON body of a built request; uploads are described, not copied."""
    is_json = request.headers.get("content-type", "").startswith("application/json")
    media = request.resumable
    return {
        "call": name,
        "method": request.method,
        "uri": request.uri,
        "body": json.loads(request.body) if is_json and request.body else None,
        "upload": (
            {"bytes": media.size(), "mimetype": media.mimetype(), "resumable": True}
            if media is not None
            else {
                "bytes": len(request.body or b""),
                "mimetype": request.headers.get("content-type"),
            }
            if not is_json and request.body
            else None
        ),
    }
