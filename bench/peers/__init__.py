"""The three things measured: `ours` (the product handlers), `naive` and `dogpile`."""

from __future__ import annotations

from bench.peers.base import Peer, PeerSettings, ReadResult

PEER_NAMES = ("ours", "naive", "dogpile")


def make_peer(name: str, settings: PeerSettings) -> Peer:
    """Build one peer in this process (imports are lazy: cold-start figures stay honest)."""
    if name == "naive":
        from bench.peers.naive import NaivePeer

        return NaivePeer(settings)
    if name == "dogpile":
        from bench.peers.dogpile_peer import DogpilePeer

        return DogpilePeer(settings)
    if name == "ours":
        from bench.peers.ours import OursPeer

        return OursPeer(settings)
    raise ValueError(f"peer must be one of {PEER_NAMES}, got {name!r}")


__all__ = ["PEER_NAMES", "Peer", "PeerSettings", "ReadResult", "make_peer"]
