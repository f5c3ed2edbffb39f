"""Publishing a release on YouTube, exactly once, however often it is retried.

The ledger (a table in the warehouse) records each release's progress through
planned → session → uploaded → thumbnail → playlisted → scheduled, saved right after every
side effect. A re-run reads it and does only what is missing: an upload interrupted mid-way
resumes its saved session (the server says how many bytes it has), a finished one is never
sent again.

The video goes up with the resumable protocol in chunks, driven by our own retry loop:
``next_chunk(num_retries=0)``, exponential backoff with jitter on 500/502/503/504 and on
dropped connections. After a failure the library's next call asks the server where the upload
stands (``bytes */N``) instead of re-sending a stream it has already read, which is what its
built-in chunk retry would do. Quota and upload-limit refusals are never retried.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from googleapiclient.errors import HttpError
from googleapiclient.http import MediaFileUpload

from lofi_assets.publish.metadata import problems
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets.publish.youtube import (
    MAX_ATTEMPTS,
    RETRIABLE_STATUSES,
    TRANSIENT_ERRORS,
    Retrier,
    YouTubeClients,
    refusal,
)
from lofi_assets.storage import write_json_atomic

STATES = ("planned", "session", "uploaded", "thumbnail", "playlisted", "scheduled")
MUSIC_CATEGORY_ID = "10"
DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024  # a multiple of 256 KiB, as the protocol requires


@dataclass(frozen=True)
class ReleaseUpload:
    """Everything YouTube needs for one day's release."""

    release_date: str
    video_path: Path
    thumbnail_path: Path
    title: str
    description: str
    tags: list[str]
    playlists: list[str]
    publish_at_utc: str  # RFC 3339
    default_language: str = "en"

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
        return {
            "snippet": {
                "title": self.title,
                "description": self.description,
                "tags": list(self.tags),
                "categoryId": MUSIC_CATEGORY_ID,
                "defaultLanguage": self.default_language,
            },
            "status": status,
        }


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
    """The metadata validator plus what the upload itself must declare."""
    snippet, status = body.get("snippet", {}), body.get("status", {})
    found = problems(snippet)
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
            [row.release_date, row.state, row.session_uri, row.video_id, row.body_sha256,
             dt.datetime.now(dt.UTC).isoformat(timespec="seconds")],
        )  # fmt: skip

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

    def uploaded_videos(self) -> list[dict[str, str]]:
        return self.warehouse.query(
            "SELECT release_date, video_id FROM youtube_uploads "
            "WHERE video_id IS NOT NULL ORDER BY release_date"
        )


@dataclass
class PublishOutcome:
    video_id: str
    state: str
    steps_done: list[str] = field(default_factory=list)  # what this run did (empty: nothing left)
    retries: int = 0
    private_until_published_by_hand: bool = False


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
    ) -> None:
        self.clients, self.ledger, self.log = clients, ledger, log
        self.chunk_bytes, self.now = chunk_bytes, now
        self.retrier = Retrier(log, sleep, max_attempts)
        self._execute = self.retrier.execute

    # -- the steps ------------------------------------------------------------------------
    def publish(self, release: ReleaseUpload) -> PublishOutcome:
        body = release.video_body(self.now())
        found = body_problems(body)
        if found:
            raise ValueError(f"The upload for {release.release_date} is invalid: {found}")
        row = self.ledger.load(release.release_date)
        if row is None:
            row = LedgerRow(release.release_date, "planned", None, None, body_sha256(body))
            self.ledger.save(row)
        done: list[str] = []
        if not row.reached("uploaded"):
            self._upload_video(release, body, row)
            done.append("uploaded")
        if not row.reached("thumbnail"):
            self._execute(
                self.clients.youtube.thumbnails().set(
                    videoId=row.video_id,
                    media_body=MediaFileUpload(str(release.thumbnail_path), mimetype="image/jpeg"),
                ),
                "set the thumbnail",
            )
            row.state = "thumbnail"
            self.ledger.save(row)
            done.append("thumbnail")
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
        return PublishOutcome(row.video_id or "", row.state, done, self.retrier.retries, private)

    def _upload_video(self, release: ReleaseUpload, body: dict, row: LedgerRow) -> None:
        media = MediaFileUpload(
            str(release.video_path),
            mimetype="video/mp4",
            chunksize=self.chunk_bytes,
            resumable=True,
        )
        request = self.clients.youtube.videos().insert(
            part="snippet,status", body=body, media_body=media, notifySubscribers=True
        )
        if row.session_uri:  # a run before this one started the upload: ask where it stands
            self.log(f"Resuming the upload session saved for {release.release_date}")
            request.resumable_uri = row.session_uri
            request._in_error_state = True  # next_chunk then queries with "bytes */size"
        total = media.size()
        attempt, response = 0, None
        while response is None:
            try:
                status, response = request.next_chunk(num_retries=0)
            except HttpError as error:
                code = error.resp.status
                if code in (404, 410) and request.resumable_uri:
                    # The session expired (they live about a week): start a new one. No
                    # video exists yet, since YouTube creates it only when an upload completes.
                    self.log("The saved upload session has expired; starting a new one")
                    request.resumable_uri, request.resumable_progress = None, 0
                    request._in_error_state = False
                    row.session_uri, row.state = None, "planned"
                    self.ledger.save(row)
                    attempt += 1
                    continue
                if code not in RETRIABLE_STATUSES:
                    raise refusal(error, "upload the video") from error
                attempt += 1
                self.retrier.backoff(attempt, "upload the video", f"HTTP {code}")
                continue
            except TRANSIENT_ERRORS as error:
                attempt += 1
                self.retrier.backoff(
                    attempt, "upload the video", f"{type(error).__name__}: {error}"
                )
                continue
            attempt = 0
            if request.resumable_uri and request.resumable_uri != row.session_uri:
                row.session_uri, row.state = request.resumable_uri, "session"
                self.ledger.save(row)
            if status is not None:
                self.log(f"Uploaded {status.resumable_progress * 100 // max(1, total)} %")
        row.video_id, row.state = response["id"], "uploaded"
        self.ledger.save(row)
        self.log(f"Video {row.video_id} uploaded ({total / 1e6:.1f} MB)")

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
        already = self.ledger.playlist_items(release.release_date)
        for title in release.playlists:
            if title in already:
                continue
            playlist_id = self._playlist_id(title)
            item = self._execute(
                self.clients.youtube.playlistItems().insert(
                    part="snippet", body=playlist_item_body(playlist_id, row.video_id or "")
                ),
                f"add the video to {title!r}",
            )
            self.ledger.save_playlist_item(release.release_date, title, playlist_id, item["id"])

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
        part="snippet,status",
        body=body,
        media_body=MediaFileUpload(str(release.video_path), mimetype="video/mp4", resumable=True),
        notifySubscribers=True,
    )
    thumbnail = youtube.thumbnails().set(
        videoId="{video_id}",
        media_body=MediaFileUpload(str(release.thumbnail_path), mimetype="image/jpeg"),
    )
    requests = [("videos.insert", insert), ("thumbnails.set", thumbnail)]
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
        "mode": "dry_run",
        "problems": body_problems(body),
        "requests": [_described(name, request) for name, request in requests],
    }
    write_json_atomic(out, manifest)
    return manifest


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
