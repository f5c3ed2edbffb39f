"""The radio's YouTube Live watchdog: keeps one live broadcast bound to the radio's stream.

Each :meth:`LiveWatchdog.tick` reads the current broadcast (``liveBroadcasts.list``) and the
stream (``liveStreams.list``). A broadcast YouTube ended (``lifeCycleStatus`` ``complete`` or
``revoked``, or gone), or one older than ``rotate_after_s`` (YouTube keeps an archive only
for streams under 12 hours: https://support.google.com/youtube/answer/6247592), is replaced
exactly once: a ledger row in the warehouse (``radio_broadcasts``, one per generation, its
key claimed before the API is called) says which broadcast replaced which, so a repeated or
concurrent tick creates nothing. The new broadcast carries its generation's marker in its
description; a tick that finds a claimed row without a broadcast id (the process died
between ``insert`` and the ledger write) adopts the broadcast holding the marker instead of
creating a second one. It is bound to the stream (``liveBroadcasts.bind``) and, with
``enableAutoStart``, goes live when the stream's data arrives. An unhealthy stream
(``healthStatus`` ``bad`` or ``noData``) is reported for the alert, not "fixed" with a new
broadcast: the encoder's supervisor owns the stream.

API: https://developers.google.com/youtube/v3/live/docs/liveBroadcasts (insert, bind,
transition, list) and https://developers.google.com/youtube/v3/live/docs/liveStreams.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from googleapiclient.errors import HttpError

from lofi_assets.publish.warehouse import Warehouse
from lofi_assets.publish.youtube import refusal

LEDGER_TABLE = """CREATE TABLE IF NOT EXISTS radio_broadcasts (
    generation INTEGER PRIMARY KEY,
    replaces VARCHAR,
    broadcast_id VARCHAR,
    reason VARCHAR NOT NULL,
    updated_at VARCHAR NOT NULL
)"""
ENDED_STATES = ("complete", "revoked")
UNHEALTHY_STREAM = ("bad", "noData")
DEFAULT_ROTATE_AFTER_S = 11.5 * 3600  # under YouTube's 12-hour archive limit


@dataclass(frozen=True)
class WatchdogResult:
    """What one tick saw and did (ids as YouTube gives them)."""

    broadcast_id: str
    life_cycle_status: str
    stream_health: str
    created: bool  # a new broadcast was inserted and bound in this tick
    reason: str  # why it was created ("first", "complete", "rotate", "missing"), or ""
    stream_unhealthy: bool


def marker(generation: int) -> str:
    return f"[lofi-radio broadcast #{generation}]"


class LiveWatchdog:
    """One channel's radio broadcast. ``youtube`` is the v3 resource of ``build_clients``;
    ``now`` returns an aware UTC datetime (injectable for the rotation rule's tests)."""

    def __init__(
        self,
        youtube: Any,
        warehouse: Warehouse,
        stream_id: str,
        title: str,
        rotate_after_s: float | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ):
        self.youtube, self.warehouse, self.stream_id = youtube, warehouse, stream_id
        self.title, self.rotate_after_s, self.now = title, rotate_after_s, now
        self.warehouse.execute(LEDGER_TABLE)

    def _call(self, request: Any, action: str) -> dict:
        try:
            return request.execute(num_retries=2)
        except HttpError as error:
            raise refusal(error, action) from None

    def _latest(self) -> dict | None:
        rows = self.warehouse.query(
            "SELECT generation, replaces, broadcast_id, reason FROM radio_broadcasts "
            "ORDER BY generation DESC LIMIT 1"
        )
        return rows[0] if rows else None

    def _broadcast(self, broadcast_id: str) -> dict | None:
        found = self._call(
            self.youtube.liveBroadcasts().list(
                part="id,snippet,status,contentDetails", id=broadcast_id
            ),
            f"read live broadcast {broadcast_id}",
        )
        items = found.get("items", [])
        return items[0] if items else None

    def _stream_health(self) -> str:
        found = self._call(
            self.youtube.liveStreams().list(part="id,status", id=self.stream_id),
            f"read live stream {self.stream_id}",
        )
        items = found.get("items", [])
        if not items:
            return "missing"
        return items[0].get("status", {}).get("healthStatus", {}).get("status", "noData")

    def _claim(self, generation: int, replaces: str | None, reason: str) -> bool:
        """The ledger row of ``generation``; False when another tick holds it already."""
        try:
            self.warehouse.execute(
                "INSERT INTO radio_broadcasts (generation, replaces, broadcast_id, reason, "
                "updated_at) VALUES (?, ?, NULL, ?, ?)",
                (generation, replaces, reason, self.now().isoformat()),
            )
        except self.warehouse.conflict_errors():
            return False
        return True

    def _adopt_or_create(self, generation: int) -> str:
        """The broadcast of ``generation``: one already made under its marker, else a new one;
        bound to the stream and written to the ledger."""
        mine = self._call(
            self.youtube.liveBroadcasts().list(part="id,snippet", mine=True, maxResults=50),
            "list live broadcasts",
        )
        tagged = [
            b["id"]
            for b in mine.get("items", [])
            if marker(generation) in b.get("snippet", {}).get("description", "")
        ]
        if tagged:
            broadcast_id = tagged[0]
        else:
            start = self.now().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            body = {
                "snippet": {
                    "title": self.title,
                    "description": f"24/7 lo-fi radio. {marker(generation)}",
                    "scheduledStartTime": start,
                },
                "status": {"privacyStatus": "public", "selfDeclaredMadeForKids": False},
                "contentDetails": {"enableAutoStart": True, "enableAutoStop": False},
            }
            created = self._call(
                self.youtube.liveBroadcasts().insert(
                    part="snippet,status,contentDetails", body=body
                ),
                "create a live broadcast",
            )
            broadcast_id = created["id"]
        self._call(
            self.youtube.liveBroadcasts().bind(
                id=broadcast_id, part="id,contentDetails", streamId=self.stream_id
            ),
            f"bind broadcast {broadcast_id} to stream {self.stream_id}",
        )
        self.warehouse.execute(
            "UPDATE radio_broadcasts SET broadcast_id = ?, updated_at = ? WHERE generation = ?",
            (broadcast_id, self.now().isoformat(), generation),
        )
        return broadcast_id

    def _needs_replacing(self, broadcast: dict | None) -> str:
        if broadcast is None:
            return "missing"
        status = broadcast.get("status", {}).get("lifeCycleStatus", "")
        if status in ENDED_STATES:
            return status
        started = broadcast.get("snippet", {}).get("actualStartTime")
        if self.rotate_after_s and started:
            begun = dt.datetime.fromisoformat(started.replace("Z", "+00:00"))
            if (self.now() - begun).total_seconds() >= self.rotate_after_s:
                return "rotate"
        return ""

    def tick(self) -> WatchdogResult:
        """Check the broadcast and the stream once; replace an ended broadcast exactly once.

        Raises:
            PublishError: the API refused a call (quota, credentials, a missing stream id),
                with YouTube's reason.
        """
        health = self._stream_health()
        latest = self._latest()
        created, reason = False, ""
        if latest is None:
            if self._claim(0, None, "first"):
                broadcast_id, created, reason = self._adopt_or_create(0), True, "first"
            else:
                latest = self._latest()
        if latest is not None and latest["broadcast_id"] is None:
            # Claimed, never finished (a crash between insert and the ledger): adopt it.
            generation = int(latest["generation"])
            broadcast_id, created, reason = (
                self._adopt_or_create(generation),
                True,
                latest["reason"],
            )
        elif latest is not None:
            broadcast_id = latest["broadcast_id"]
            why = self._needs_replacing(self._broadcast(broadcast_id))
            if why:
                generation = int(latest["generation"]) + 1
                if self._claim(generation, broadcast_id, why):
                    old = broadcast_id
                    broadcast_id, created, reason = self._adopt_or_create(generation), True, why
                    if why == "rotate":  # end the old one only once the new one is bound
                        self._call(
                            self.youtube.liveBroadcasts().transition(
                                broadcastStatus="complete", id=old, part="id,status"
                            ),
                            f"complete broadcast {old}",
                        )
                else:
                    broadcast_id = self._latest()["broadcast_id"] or broadcast_id
        current = self._broadcast(broadcast_id)
        status = (current or {}).get("status", {}).get("lifeCycleStatus", "missing")
        return WatchdogResult(
            broadcast_id=broadcast_id,
            life_cycle_status=status,
            stream_health=health,
            created=created,
            reason=reason,
            stream_unhealthy=health in UNHEALTHY_STREAM or health == "missing",
        )
