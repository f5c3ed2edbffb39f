"""A local server that speaks the parts of the YouTube Data and Analytics APIs we use.

The real google-api-python-client talks to it over HTTP on 127.0.0.1 (``YOUTUBE_API_ENDPOINT``).
It implements the resumable upload protocol (POST → 200 + Location; PUT chunks with
Content-Range → 308 + Range, or 200/201 with the video when complete; ``bytes */N`` status
queries; 404 for an unknown session), thumbnails.set, playlists, playlistItems (insert, and list
by playlist and video, paged), channels.list (the uploads playlist), videos.list and
videos.update, OAuth token refresh and youtubeAnalytics reports.query.

Faults are injected per data chunk (``chunk_faults``: a 503, a connection reset halfway through
the chunk, a chunk kept but never answered — the video is created when it was the last one, as
YouTube does, so only the reply is lost —, a hang, the access token expiring mid-upload), on
every data chunk (``every_chunk_fault``: 404 as from a misrouted endpoint, or a 308 that keeps
nothing), per route (403 quotaExceeded, 400 uploadLimitExceeded, any error body) and per
channel (``thumbnails_allowed`` False: 403 forbidden, as for a channel without phone
verification). A chunk whose body does not arrive within ``body_timeout_s`` (a client that
promised bytes it never sends) is counted in ``stalled_bodies`` and its connection closed.
Every request is counted by route; successful thumbnail sets per video.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import re
import socket
import threading
import time
import urllib.parse
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from lofi_assets.publish.upload import ReleaseUpload

QUOTA_ERROR = (403, "quotaExceeded", "The request cannot be completed because you have exceeded your quota.")  # fmt: skip
UPLOAD_LIMIT_ERROR = (400, "uploadLimitExceeded", "The user has exceeded the number of videos they may upload.")  # fmt: skip
# thumbnails.set's answer for a channel that may not use custom thumbnails (unverified):
# https://developers.google.com/youtube/v3/docs/thumbnails/set#errors
THUMBNAILS_FORBIDDEN = (403, "forbidden", "The authenticated user doesn't have permissions to upload and set custom video thumbnails.")  # fmt: skip
AUTH_ERROR = (401, "authError", "Request had invalid authentication credentials.")
CHANNEL_ID = "UClocalchannel0000000000"
UPLOADS_PLAYLIST_ID = "UU" + CHANNEL_ID[2:]  # YouTube's uploads playlist: the channel id, UU for UC


class FakeYouTube:
    """State of the fake channel; the handler reads and changes it under ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.sessions: dict[str, dict[str, Any]] = {}
        self.videos: dict[str, dict[str, Any]] = {}
        self.playlists: dict[str, dict[str, Any]] = {}
        self.playlist_items: list[dict[str, Any]] = []
        self.thumbnails: dict[str, bytes] = {}
        self.thumbnail_sets: Counter[str] = Counter()  # video id → thumbnails set (successfully)
        self.thumbnails_allowed = True
        # data-PUT number (1-based) → 503 | reset | drop | hang | expire_token
        self.chunk_faults: dict[int, str] = {}
        self.every_chunk_fault: str | None = None  # 404 | discard, on every data PUT
        self.expired_tokens: set[str] = set()  # bearer tokens answered with 401 from now on
        self.body_timeout_s = 5.0
        self.stalled_bodies = 0
        self.session_starts_s: list[float] = []  # time.monotonic() of every videos.insert
        # "POST /youtube/v3/playlistItems" (or "*" for every call) → (status, reason, message)
        self.route_errors: dict[str, tuple[int, str, str]] = {}
        # route → errors answered once each, in order, before the route answers normally
        self.route_errors_once: dict[str, list[tuple[int, str, str]]] = {}
        self.daily_views: dict[str, int] = {}  # video id → views per day in reports
        self.data_puts = 0
        self.refreshes = 0
        self.hang_started = threading.Event()
        self.release_hang = threading.Event()
        self._ids = itertools.count(1)
        # YouTube Live (the radio's watchdog): broadcast id → resource; stream id → resource
        # (tests add streams with ``add_stream``, and end broadcasts with ``end_broadcast``).
        self.broadcasts: dict[str, dict[str, Any]] = {}
        self.streams: dict[str, dict[str, Any]] = {}
        # Comments: top-level threads (newest first, as order=time lists them) and the
        # replies under each top-level comment id. Tests add viewers' comments with
        # ``add_comment``.
        self.comment_threads: list[dict[str, Any]] = []
        # Other channels' public videos, which search.list finds (``add_public_video``).
        self.public_videos: dict[str, dict[str, Any]] = {}
        # YouTube Reporting API: jobs, and the reach rows its daily reports hold:
        # (video id, YYYY-MM-DD) → (impressions, click-through as a fraction).
        self.reporting_jobs: list[dict[str, Any]] = []
        self.reach: dict[tuple[str, str], tuple[int, float]] = {}
        # Backfill reports (the real API's corrections of a day already delivered: newer,
        # listed first, their rows replace the day's): same keys as ``reach``.
        self.reach_backfill: dict[tuple[str, str], tuple[int, float]] = {}
        self.report_page_size = 100  # jobs.reports.list pages (nextPageToken)
        self.replies: dict[str, list[dict[str, Any]]] = {}

    def _comment(self, video_id: str, author: str, channel_id: str, text: str) -> dict[str, Any]:
        return {"kind": "youtube#comment", "id": self.next_id("comment-"),
                "snippet": {"videoId": video_id, "authorDisplayName": author,
                            "authorChannelId": {"value": channel_id}, "textOriginal": text,
                            "textDisplay": text, "publishedAt": "2026-11-28T10:00:00Z"}}  # fmt: skip

    def add_public_video(self, title: str, tags: list[str], views: int) -> str:
        """Another channel's video that search.list can find; returns its id."""
        video_id = self.next_id("pub-")
        self.public_videos[video_id] = {
            "kind": "youtube#video", "id": video_id,
            "snippet": {"title": title, "tags": tags, "channelTitle": "other"},
            "statistics": {"viewCount": str(views)},
        }  # fmt: skip
        return video_id

    def add_comment(self, video_id: str, author: str, text: str, channel_id: str = "") -> str:
        """A viewer's top-level comment on ``video_id``; returns the comment's id."""
        comment = self._comment(video_id, author, channel_id or f"UC{author}", text)
        self.comment_threads.insert(0, {"kind": "youtube#commentThread",
                                        "id": self.next_id("thread-"),
                                        "snippet": {"videoId": video_id,
                                                    "topLevelComment": comment}})  # fmt: skip
        return comment["id"]

    def add_stream(self, stream_id: str, health: str = "good") -> None:
        self.streams[stream_id] = {"kind": "youtube#liveStream", "id": stream_id,
                                   "status": {"streamStatus": "active",
                                              "healthStatus": {"status": health}}}  # fmt: skip

    def end_broadcast(self, broadcast_id: str) -> None:
        """What YouTube does to a broadcast it ended (a 12-hour limit, a policy strike…)."""
        self.broadcasts[broadcast_id]["status"]["lifeCycleStatus"] = "complete"

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    # -- plumbing -------------------------------------------------------------------------
    @property
    def fake(self) -> FakeYouTube:
        return self.server.fake

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, document: Any = None, headers: dict[str, str] | None = None):
        payload = b"" if document is None else json.dumps(document).encode("utf-8")
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if document is not None:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _error(
        self, status: int, reason: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self._reply(
            status,
            {"error": {"code": status, "message": message,
                       "errors": [{"reason": reason, "domain": "youtube", "message": message}]}},
            headers,
        )  # fmt: skip

    def _bearer(self) -> str:
        return self.headers.get("Authorization", "").removeprefix("Bearer ")

    def _hang_up(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _route(self, method: str) -> None:
        parsed = urllib.parse.urlparse(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        route = f"{method} {parsed.path}"
        with self.fake.lock:
            self.fake.requests[route] += 1
        if self._bearer() in self.fake.expired_tokens:
            self._body()
            return self._error(*AUTH_ERROR, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if parsed.path == "/upload/youtube/v3/videos" and "upload_id" in query:
            return self._upload_chunk(query["upload_id"])
        with self.fake.lock:
            once = self.fake.route_errors_once.get(route)
            error = once.pop(0) if once else None
        error = error or self.fake.route_errors.get(route) or self.fake.route_errors.get("*")
        if error is not None:
            self._body()
            return self._error(*error)
        if parsed.path.startswith("/v1/jobs/") and parsed.path.endswith("/reports"):
            return self._list_reports(parsed.path.split("/")[3], query)
        if parsed.path.startswith("/v1/media/"):
            return self._download_report(parsed.path.removeprefix("/v1/media/"))
        handler = {
            "GET /v1/jobs": self._list_jobs,
            "POST /v1/jobs": self._create_job,
            "POST /upload/youtube/v3/videos": self._start_session,
            "POST /upload/youtube/v3/thumbnails/set": self._set_thumbnail,
            "GET /youtube/v3/playlists": self._list_playlists,
            "POST /youtube/v3/playlists": self._insert_playlist,
            "GET /youtube/v3/playlistItems": self._list_playlist_items,
            "POST /youtube/v3/playlistItems": self._insert_playlist_item,
            "GET /youtube/v3/channels": self._list_channels,
            "GET /youtube/v3/videos": self._list_videos,
            "PUT /youtube/v3/videos": self._update_video,
            "GET /v2/reports": self._report,
            "GET /youtube/v3/liveBroadcasts": self._list_broadcasts,
            "POST /youtube/v3/liveBroadcasts": self._insert_broadcast,
            "POST /youtube/v3/liveBroadcasts/bind": self._bind_broadcast,
            "POST /youtube/v3/liveBroadcasts/transition": self._transition_broadcast,
            "GET /youtube/v3/liveStreams": self._list_streams,
            "GET /youtube/v3/search": self._search,
            "GET /youtube/v3/commentThreads": self._list_threads,
            "POST /youtube/v3/commentThreads": self._insert_thread,
            "GET /youtube/v3/comments": self._list_replies,
            "POST /youtube/v3/comments": self._insert_reply,
            "POST /token": self._token,
        }.get(route)
        if handler is None:
            self._body()
            return self._error(404, "notFound", f"No route {route}")
        return handler(query)

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")

    # -- resumable upload -----------------------------------------------------------------
    def _start_session(self, query: dict[str, str]) -> None:
        metadata = json.loads(self._body() or b"{}")
        if query.get("uploadType") != "resumable":
            return self._error(400, "badRequest", "only resumable uploads are supported")
        parts = set(query.get("part", "").split(","))
        localized = "localizations" in parts and metadata.get("localizations")
        if localized and not metadata.get("snippet", {}).get("defaultLanguage"):
            message = "snippet.defaultLanguage is required to set localizations"
            return self._error(400, "defaultLanguageNotSet", message)
        # YouTube keeps only the parts the request names (``part``), as the real API does.
        metadata = {name: value for name, value in metadata.items() if name in parts}
        upload_id = self.fake.next_id("session-")
        with self.fake.lock:
            self.fake.session_starts_s.append(time.monotonic())
            self.fake.sessions[upload_id] = {
                "metadata": metadata,
                "size": int(self.headers.get("X-Upload-Content-Length") or -1),
                "data": bytearray(),
                "video_id": None,
            }
        host = self.headers.get("Host")
        location = (
            f"http://{host}/upload/youtube/v3/videos?uploadType=resumable&upload_id={upload_id}"
        )
        self._reply(200, None, {"Location": location})

    def _upload_chunk(self, upload_id: str) -> None:
        session = self.fake.sessions.get(upload_id)
        content_range = self.headers.get("Content-Range", "")
        if session is None:
            self._body()
            return self._error(404, "notFound", "upload session not found or expired")
        status_query = re.fullmatch(r"bytes \*/(\d+|\*)", content_range)
        if status_query:
            self._body()
            return self._upload_status(session)
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", content_range)
        if not match:
            self._body()
            return self._error(400, "badContent", f"bad Content-Range {content_range!r}")
        with self.fake.lock:
            self.fake.data_puts += 1
            fault = self.fake.chunk_faults.pop(self.fake.data_puts, None)
            fault = fault or self.fake.every_chunk_fault
        length = int(self.headers["Content-Length"])
        if fault == "reset":  # read half the chunk, then drop the connection
            self.rfile.read(length // 2)
            return self._hang_up()
        if fault == "hang":
            self.fake.hang_started.set()
            self.fake.release_hang.wait(60)
            return self._hang_up()
        data = self._chunk_body(length)
        if data is None:
            return self._hang_up()
        if fault == "expire_token":  # the access token expires now, in the middle of the upload
            with self.fake.lock:
                self.fake.expired_tokens.add(self._bearer())
            return self._error(*AUTH_ERROR, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if fault == "404":  # what a misrouted upload URL answers to every chunk
            return self._error(404, "notFound", "Not Found")
        if fault == "discard":  # "resume incomplete", with nothing of the chunk kept
            received = len(session["data"])
            return self._reply(308, None, {"Range": f"bytes=0-{received - 1}"} if received else {})
        if fault == "drop":  # keep the whole chunk, then close without an answer
            session["data"].extend(data)
            self._complete(session)  # YouTube creates the video even if the reply is lost
            return self._hang_up()
        if fault == "503":
            return self._error(503, "backendError", "Service unavailable")
        first, last = int(match.group(1)), int(match.group(2))
        if first != len(session["data"]):
            return self._error(400, "badContent", f"expected offset {len(session['data'])}")
        session["data"].extend(data[: last - first + 1])
        return self._upload_status(session)

    def _chunk_body(self, length: int) -> bytes | None:
        """The chunk's bytes, or None when the client promised them and never sent them."""
        self.connection.settimeout(self.fake.body_timeout_s)
        try:
            data = self.rfile.read(length)
        except TimeoutError:
            data = None
        finally:
            self.connection.settimeout(None)
        if data is None or len(data) < length:
            with self.fake.lock:
                self.fake.stalled_bodies += 1
            return None
        return data

    def _upload_status(self, session: dict[str, Any]) -> None:
        received = len(session["data"])
        if self._complete(session):
            return self._reply(200, self._public(self.fake.videos[session["video_id"]]))
        headers = {"Range": f"bytes=0-{received - 1}"} if received else {}
        return self._reply(308, None, headers)

    def _complete(self, session: dict[str, Any]) -> bool:
        """Create the session's video once all its bytes are in; whether it exists."""
        received = len(session["data"])
        if received == session["size"]:
            if session["video_id"] is None:
                # 11 characters ("video-00001"), the form of YouTube's own ids
                video_id = self.fake.next_id("video-0")
                with self.fake.lock:
                    session["video_id"] = video_id
                    self.fake.videos[video_id] = {
                        "kind": "youtube#video",
                        "id": video_id,
                        "snippet": session["metadata"].get("snippet", {}),
                        "status": {
                            "uploadStatus": "uploaded",
                            **session["metadata"].get("status", {}),
                        },
                        "localizations": session["metadata"].get("localizations", {}),
                        "statistics": {"viewCount": "0", "likeCount": "0", "commentCount": "0"},
                        "contentDetails": {"duration": "PT9M0S"},
                        "_bytes": bytes(session["data"]),
                    }
            return True
        return False

    @staticmethod
    def _public(video: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in video.items() if not k.startswith("_")}

    # -- the rest of the Data API ---------------------------------------------------------
    def _set_thumbnail(self, query: dict[str, str]) -> None:
        data = self._body()
        if query.get("videoId") not in self.fake.videos:
            return self._error(404, "videoNotFound", "no such video")
        if not self.fake.thumbnails_allowed:
            return self._error(*THUMBNAILS_FORBIDDEN)
        self.fake.thumbnails[query["videoId"]] = data
        self.fake.thumbnail_sets[query["videoId"]] += 1
        self._reply(200, {"kind": "youtube#thumbnailSetResponse", "items": [{"default": {}}]})

    def _list_playlists(self, query: dict[str, str]) -> None:
        self._reply(200, {"kind": "youtube#playlistListResponse",
                          "items": list(self.fake.playlists.values())})  # fmt: skip

    def _insert_playlist(self, query: dict[str, str]) -> None:
        body = json.loads(self._body())
        playlist_id = self.fake.next_id("playlist-")
        self.fake.playlists[playlist_id] = {"id": playlist_id, **body}
        self._reply(200, self.fake.playlists[playlist_id])

    def _insert_playlist_item(self, query: dict[str, str]) -> None:
        body = json.loads(self._body())
        snippet = body["snippet"]
        if snippet["playlistId"] not in self.fake.playlists:
            return self._error(404, "playlistNotFound", "no such playlist")
        item = {"id": self.fake.next_id("item-"), **body}
        self.fake.playlist_items.append(item)
        return self._reply(200, item)

    def _list_channels(self, query: dict[str, str]) -> None:
        if query.get("mine") != "true":
            return self._error(400, "missingRequiredParameter", "only mine=true is supported")
        channel = {"kind": "youtube#channel", "id": CHANNEL_ID,
                   "contentDetails": {"relatedPlaylists": {"uploads": UPLOADS_PLAYLIST_ID}}}  # fmt: skip
        return self._reply(200, {"kind": "youtube#channelListResponse", "items": [channel]})

    def _list_playlist_items(self, query: dict[str, str]) -> None:
        """playlistItems.list by playlistId (the uploads playlist: newest first), optionally
        filtered by videoId, in pages of maxResults (default 5, as YouTube's)."""
        playlist_id = query.get("playlistId", "")
        if playlist_id == UPLOADS_PLAYLIST_ID:
            items = [
                {"kind": "youtube#playlistItem", "id": f"upload-{video_id}",
                 "snippet": {"playlistId": playlist_id, "title": video["snippet"].get("title"),
                             "description": video["snippet"].get("description"),
                             "resourceId": {"kind": "youtube#video", "videoId": video_id}},
                 "contentDetails": {"videoId": video_id}}
                for video_id, video in reversed(self.fake.videos.items())
            ]  # fmt: skip
        elif playlist_id in self.fake.playlists:
            items = [
                i for i in self.fake.playlist_items if i["snippet"]["playlistId"] == playlist_id
            ]
        else:
            return self._error(404, "playlistNotFound", "no such playlist")
        if "videoId" in query:
            wanted = query["videoId"]
            items = [i for i in items if i["snippet"]["resourceId"]["videoId"] == wanted]
        start, size = int(query.get("pageToken") or 0), int(query.get("maxResults") or 5)
        page: dict[str, Any] = {"kind": "youtube#playlistItemListResponse",
                                "items": items[start : start + size],
                                "pageInfo": {"totalResults": len(items), "resultsPerPage": size}}  # fmt: skip
        if start + size < len(items):
            page["nextPageToken"] = str(start + size)
        return self._reply(200, page)

    def _list_videos(self, query: dict[str, str]) -> None:
        wanted = query.get("id", "").split(",")
        known = {**self.fake.public_videos, **self.fake.videos}
        items = [self._public(known[v]) for v in wanted if v in known]
        self._reply(200, {"kind": "youtube#videoListResponse", "items": items})

    def _update_video(self, query: dict[str, str]) -> None:
        body = json.loads(self._body())
        video = self.fake.videos.get(body.get("id"))
        if video is None:
            return self._error(404, "videoNotFound", "no such video")
        video["status"].update(body.get("status", {}))
        return self._reply(200, self._public(video))

    # -- YouTube Live: liveBroadcasts.list/insert/bind/transition, liveStreams.list ---------
    def _list_broadcasts(self, query: dict[str, str]) -> None:
        with self.fake.lock:
            if "id" in query:
                wanted = query["id"].split(",")
                items = [self.fake.broadcasts[i] for i in wanted if i in self.fake.broadcasts]
            else:  # mine=true: every broadcast of the channel
                items = list(self.fake.broadcasts.values())
        self._reply(200, {"kind": "youtube#liveBroadcastListResponse", "items": items})

    def _insert_broadcast(self, query: dict[str, str]) -> None:
        body = json.loads(self._body() or b"{}")
        with self.fake.lock:
            broadcast_id = self.fake.next_id("bc")
            broadcast = {
                "kind": "youtube#liveBroadcast", "id": broadcast_id,
                "snippet": body.get("snippet", {}),
                "status": {**body.get("status", {}), "lifeCycleStatus": "ready"},
                "contentDetails": body.get("contentDetails", {}),
            }  # fmt: skip
            self.fake.broadcasts[broadcast_id] = broadcast
        self._reply(200, broadcast)

    def _bind_broadcast(self, query: dict[str, str]) -> None:
        self._body()
        with self.fake.lock:
            broadcast = self.fake.broadcasts.get(query.get("id", ""))
            if broadcast is None or query.get("streamId") not in self.fake.streams:
                return self._error(404, "liveBroadcastNotFound", "Broadcast or stream not found")
            broadcast["contentDetails"]["boundStreamId"] = query["streamId"]
        self._reply(200, broadcast)

    def _transition_broadcast(self, query: dict[str, str]) -> None:
        self._body()
        with self.fake.lock:
            broadcast = self.fake.broadcasts.get(query.get("id", ""))
            if broadcast is None:
                return self._error(404, "liveBroadcastNotFound", "Broadcast not found")
            broadcast["status"]["lifeCycleStatus"] = query["broadcastStatus"]
        self._reply(200, broadcast)

    def _list_streams(self, query: dict[str, str]) -> None:
        with self.fake.lock:
            wanted = query.get("id", "").split(",")
            items = [self.fake.streams[i] for i in wanted if i in self.fake.streams]
        self._reply(200, {"kind": "youtube#liveStreamListResponse", "items": items})

    def _search(self, query: dict[str, str]) -> None:
        """search.list of public videos: those whose title holds a word of ``q``, most
        viewed first, ``maxResults`` of them (default 5, as YouTube's)."""
        words = set(query.get("q", "").lower().split())
        with self.fake.lock:
            found = [v for v in self.fake.public_videos.values()
                     if words & set(v["snippet"]["title"].lower().split())]  # fmt: skip
        found.sort(key=lambda v: -int(v["statistics"]["viewCount"]))
        items = [{"kind": "youtube#searchResult",
                  "id": {"kind": "youtube#video", "videoId": v["id"]},
                  "snippet": {"title": v["snippet"]["title"]}}
                 for v in found[: int(query.get("maxResults") or 5)]]  # fmt: skip
        self._reply(200, {"kind": "youtube#searchListResponse", "items": items})

    # -- YouTube Reporting API: jobs.list/create, jobs.reports.list, media.download --------
    def _list_jobs(self, query: dict[str, str]) -> None:
        self._reply(200, {"jobs": list(self.fake.reporting_jobs)})

    def _create_job(self, query: dict[str, str]) -> None:
        body = json.loads(self._body())
        with self.fake.lock:
            job = {"id": self.fake.next_id("job-"), "reportTypeId": body["reportTypeId"],
                   "name": body.get("name", ""), "createTime": "2026-11-01T00:00:00Z"}  # fmt: skip
            self.fake.reporting_jobs.append(job)
        self._reply(200, job)

    def _list_reports(self, job_id: str, query: dict[str, str]) -> None:
        if job_id not in {job["id"] for job in self.fake.reporting_jobs}:
            return self._error(404, "notFound", "no such job")
        since = query.get("startTimeAtOrAfter", "")[:10]
        days = sorted({day for _, day in self.fake.reach if day >= since})
        backfilled = sorted({day for _, day in self.fake.reach_backfill if day >= since})
        host = self.headers.get("Host")
        url = f"http://{host}/v1/media/CHANNEL/{job_id}/{{}}?alt=media"
        # Newest first, as the API lists them: a backfill (created later) before its day.
        reports = [{"id": f"report-{day}-backfill", "jobId": job_id,
                    "startTime": f"{day}T08:00:00Z", "endTime": f"{day}T08:00:00Z",
                    "createTime": f"{day}T23:00:00Z", "downloadUrl": url.format(f"{day}-backfill")}
                   for day in reversed(backfilled)]  # fmt: skip
        reports += [{"id": f"report-{day}", "jobId": job_id, "startTime": f"{day}T08:00:00Z",
                     "endTime": f"{day}T08:00:00Z", "createTime": f"{day}T12:00:00Z",
                     "downloadUrl": url.format(day)}
                    for day in reversed(days)]  # fmt: skip
        start = int(query.get("pageToken") or 0)
        page = {"reports": reports[start : start + self.fake.report_page_size]}
        if start + self.fake.report_page_size < len(reports):
            page["nextPageToken"] = str(start + self.fake.report_page_size)
        return self._reply(200, page)

    def _download_report(self, resource: str) -> None:
        day = resource.rsplit("/", 1)[-1]
        rows = self.fake.reach
        if day.endswith("-backfill"):
            day, rows = day.removesuffix("-backfill"), self.fake.reach_backfill
        lines = ["date,channel_id,video_id,video_thumbnail_impressions,"
                 "video_thumbnail_impressions_ctr"]  # fmt: skip
        for (video_id, reach_day), (impressions, ctr) in sorted(rows.items()):
            if reach_day == day:
                lines.append(f"{day.replace('-', '')},{CHANNEL_ID},{video_id},{impressions},{ctr}")
        payload = ("\n".join(lines) + "\n").encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    # -- comments: commentThreads.list/insert, comments.list (by parentId)/insert ---------
    def _list_threads(self, query: dict[str, str]) -> None:
        with self.fake.lock:
            items = [t for t in self.fake.comment_threads
                     if t["snippet"]["videoId"] == query.get("videoId")]  # fmt: skip
        start, size = int(query.get("pageToken") or 0), int(query.get("maxResults") or 20)
        page: dict[str, Any] = {"kind": "youtube#commentThreadListResponse",
                                "items": items[start : start + size]}  # fmt: skip
        if start + size < len(items):
            page["nextPageToken"] = str(start + size)
        self._reply(200, page)

    def _insert_thread(self, query: dict[str, str]) -> None:
        snippet = json.loads(self._body())["snippet"]
        if not snippet.get("videoId"):
            return self._error(400, "invalidVideoId", "videoId is required")
        with self.fake.lock:
            text = snippet["topLevelComment"]["snippet"]["textOriginal"]
            comment = self.fake._comment(snippet["videoId"], "Lofi Empire", CHANNEL_ID, text)
            thread = {"kind": "youtube#commentThread", "id": self.fake.next_id("thread-"),
                      "snippet": {"videoId": snippet["videoId"], "channelId": CHANNEL_ID,
                                  "topLevelComment": comment}}  # fmt: skip
            self.fake.comment_threads.insert(0, thread)
        self._reply(200, thread)

    def _list_replies(self, query: dict[str, str]) -> None:
        with self.fake.lock:
            items = list(self.fake.replies.get(query.get("parentId", ""), []))
        self._reply(200, {"kind": "youtube#commentListResponse", "items": items})

    def _insert_reply(self, query: dict[str, str]) -> None:
        snippet = json.loads(self._body())["snippet"]
        parents = {t["snippet"]["topLevelComment"]["id"] for t in self.fake.comment_threads}
        if snippet.get("parentId") not in parents:
            return self._error(404, "parentCommentNotFound", "no such comment")
        with self.fake.lock:
            reply = self.fake._comment("", "Lofi Empire", CHANNEL_ID, snippet["textOriginal"])
            reply["snippet"]["parentId"] = snippet["parentId"]
            self.fake.replies.setdefault(snippet["parentId"], []).append(reply)
        self._reply(200, reply)

    def _token(self, query: dict[str, str]) -> None:
        form = urllib.parse.parse_qs(self._body().decode("utf-8"))
        if form.get("grant_type") != ["refresh_token"] or not form.get("refresh_token"):
            return self._error(400, "invalid_grant", "a refresh token is required")
        self.fake.refreshes += 1
        return self._reply(200, {"access_token": f"fresh-{self.fake.refreshes}",
                                 "expires_in": 3600, "token_type": "Bearer"})  # fmt: skip

    # -- Analytics API --------------------------------------------------------------------
    def _report(self, query: dict[str, str]) -> None:
        video_id = query.get("filters", "").removeprefix("video==")
        start = dt.date.fromisoformat(query["startDate"])
        end = dt.date.fromisoformat(query["endDate"])
        views = self.fake.daily_views.get(video_id, 0)
        rows = []
        day = start
        while day <= end:
            rows.append([day.isoformat(), views, views * 3.5, 210.0, views // 20, views // 100])
            day += dt.timedelta(days=1)
        metrics = query["metrics"].split(",")
        headers = [{"name": "day", "columnType": "DIMENSION", "dataType": "STRING"}]
        headers += [{"name": m, "columnType": "METRIC", "dataType": "INTEGER"} for m in metrics]
        self._reply(200, {"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers,
                          "rows": rows})  # fmt: skip


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeYouTube


class LocalYouTube:
    """``with LocalYouTube() as server:`` → server.endpoint, server.fake."""

    def __init__(self) -> None:
        self.fake = FakeYouTube()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self.fake
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LocalYouTube:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.fake.release_hang.set()
        self._server.shutdown()
        self._server.server_close()

    def uploaded_bytes(self, video_id: str) -> bytes:
        return self.fake.videos[video_id]["_bytes"]

    def count(self, route: str) -> int:
        return self.fake.requests[route]


def write_token_file(path, endpoint: str, expired: bool = False):
    """An authorized-user token file whose refresh goes to the local server's /token."""
    expiry = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=-1 if expired else 1)
    path.write_text(
        json.dumps(
            {
                "token": "local-access-token",
                "refresh_token": "local-refresh-token",
                "token_uri": f"{endpoint}token",
                "client_id": "local-client",
                "client_secret": "local-secret",
                "expiry": expiry.isoformat() + "Z",
            }
        )
    )
    return path


UPLOAD_CHUNK_BYTES = 256 * 1024  # the resumable protocol's unit: chunks are multiples of it


def five_chunk_release(folder: Path) -> ReleaseUpload:
    """A release of 2026-11-27 whose video is random bytes in five chunks of
    UPLOAD_CHUNK_BYTES (the last one short), with a small JPEG-headed thumbnail."""
    video = folder / "video.mp4"
    video.write_bytes(os.urandom(4 * UPLOAD_CHUNK_BYTES + 1000))
    thumbnail = folder / "thumbnail.jpg"
    thumbnail.write_bytes(b"\xff\xd8" + os.urandom(5000))
    return ReleaseUpload(
        release_date="2026-11-27", video_path=video, thumbnail_path=thumbnail,
        title="Rainy jazz to study to", description="A quiet hour.\n\n0:00 One\n3:00 Two\n6:00 Three",
        tags=["lofi", "jazz"], playlists=["Lofi for studying"],
        publish_at_utc="2026-11-27T15:00:00Z",
    )  # fmt: skip
