"""The licence every released track carries, in one place: the site, the streaming bundle and
the packs name it from here.

Terms are the channel's own (a creator licence in the spirit of the "free for content creators
with credit" licences lo-fi labels publish); the attribution line is what a video description
must carry.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Licence:
    """A licence as shown to a listener: ``licence_id`` is stable (it goes into metadata and
    manifests), ``summary`` one sentence, ``attribution`` the credit line to copy."""

    licence_id: str
    name: str
    summary: str
    attribution: str
    commercial_terms: str


CREATOR_LICENCE = Licence(
    licence_id="lofi-empire-creator-1.0",
    name="Lofi Empire Creator Licence 1.0",
    summary=(
        "Free to use in videos, streams and podcasts, monetized included, with the credit line "
        "below; no re-upload of the tracks on their own and no registration with Content ID."
    ),
    attribution="Music: “{title}” by {artist} ({site_url})",
    commercial_terms=(
        "Advertising, film, TV and game sync, and sale of the music itself, need a commercial "
        "licence: ask through the licence request form with the project and its reach."
    ),
)
