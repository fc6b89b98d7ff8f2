"""The process-local layer in front of the Redis cache, and the subscriber that drops keys as Redis says they change.

Values read from Redis are kept parsed, for LOCAL_CACHE_SECONDS, by each process (docs/configuration.md, The local
cache layer).

How a key is invalidated everywhere: the subscriber's connection turns on Redis's client tracking in broadcast
mode for every cache key (CLIENT TRACKING ON REDIRECT <itself> BCAST PREFIX ap:v1:), so that Redis publishes the
name of every key under that prefix that changes, whoever changed it, on the `__redis__:invalidate` channel it
subscribes to: a marker written after a commit, a fill, the epoch's increment (then everything goes), an expiry
or eviction, and a FLUSHDB (a message without keys: everything goes). Changes the service did not make (an
operator's `redis-cli INCR ap:v1:auth:epoch`, a key set by hand) reach the layer the same way as its own.

The layer is trusted only while that subscription is known to be alive: from the confirmation of the SUBSCRIBE
(every value stored before it was dropped) until the connection fails or stays silent past SILENT_SECONDS (a PING
every HEARTBEAT_SECONDS is answered on it); then everything is dropped and nothing is served until subscribed
again. So a lost message cannot go unnoticed: losing one means losing the connection, which clears the layer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("agentpress.web.local_cache")

# What a store or read of the layer can find: nothing (a value of None is a value).
ABSENT = object()
# Bounds on what the layer holds, whatever callers ask for: the least recently used entries go first. Rendered
# pages (bytes) are counted by their size, parsed values as one entry each.
MAX_ENTRIES = 10_000
MAX_BYTES = 64 * 1024 * 1024
# Drops remembered for the reads in flight (see LocalLayer.may_store): past this many, a read that began before the
# oldest one remembered stores nothing, which is always safe.
MAX_RECENT_DROPS = 4_096
HEARTBEAT_SECONDS = 1.0
SILENT_SECONDS = 3.0  # nothing heard on the subscription for this long: it is lost
RECONNECT_SECONDS = 1.0
INVALIDATE_CHANNEL = "__redis__:invalidate"


class LocalLayer:
    """Values of Cache and AuthCache keys held in this process, each until its deadline, served only while the
    subscriber is subscribed (`serving`).

    A read that goes to Redis takes a ticket before it sends its command and stores what it got only if no drop of
    its key (and no clear) was received since. Why that is enough, whichever of the two connections answers first:
    Redis runs commands one at a time, and a write of the key publishes its invalidation as it runs. If the write
    ran before the read, the read saw the new content (a marker, which is never stored here). If it ran after, the
    read's value is the old one and the invalidation is on its way to the subscriber: received before the store,
    the ticket refuses the store; received after it, it drops what was stored. Either way, once the message is in,
    the old value is gone, and until then the process serves what Redis itself served just before the write.
    """

    def __init__(self, seconds: float, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[float, object, int]] = OrderedDict()
        self._bytes = 0
        self._subscribed = False
        self.subscriptions = 0  # how many times it was subscribed, for the subscriber's log
        self._heard = 0.0  # when the subscription last said anything (a message, a PONG)
        # Every drop and clear counts one; a ticket is the count when the read began.
        self._drops = 0
        self._dropped: dict[str, int] = {}  # key -> the count at its last drop, the MAX_RECENT_DROPS latest
        self._forgotten = 0  # drops up to this count are no longer in _dropped (or were a clear)

    @property
    def serving(self) -> bool:
        return self._subscribed and time.monotonic() - self._heard < SILENT_SECONDS

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> object:
        """The value held for `key`, or ABSENT (also whenever the subscription is not known to be alive)."""
        entry = self._entries.get(key)
        if entry is None:
            return ABSENT
        now = time.monotonic()
        if not self._subscribed or now - self._heard >= SILENT_SECONDS:
            return ABSENT
        if now >= entry[0]:
            self._remove(key)
            return ABSENT
        self._entries.move_to_end(key)
        return entry[1]

    def ticket(self) -> int:
        """Taken before a read of Redis whose answer may be stored."""
        return self._drops

    def may_store(self, key: str, ticket: int) -> bool:
        if not self._subscribed:
            return False
        if ticket == self._drops:
            return True
        return ticket >= self._forgotten and self._dropped.get(key, 0) <= ticket

    def store(self, key: str, ticket: int, value: object, seconds: float) -> None:
        """Keep `value` for `seconds` (at most the layer's own), unless `key` changed since `ticket`."""
        seconds = min(seconds, self.seconds)
        if seconds <= 0 or not self.may_store(key, ticket):
            return
        size = len(value) if isinstance(value, bytes) else 0
        if size > self.max_bytes // 16:  # one huge entry must not push out the rest
            return
        self._remove(key)
        self._entries[key] = (time.monotonic() + seconds, value, size)
        self._bytes += size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            self._remove(next(iter(self._entries)))

    def drop(self, *keys: str) -> None:
        """These keys changed: forget them, and refuse the stores of reads that began before."""
        for key in keys:
            self._drops += 1
            self._remove(key)
            self._dropped.pop(key, None)
            self._dropped[key] = self._drops
        while len(self._dropped) > MAX_RECENT_DROPS:
            oldest = next(iter(self._dropped))
            self._forgotten = self._dropped.pop(oldest)

    def clear(self) -> None:
        """Forget everything, and refuse the stores of every read in flight."""
        self._drops += 1
        self._forgotten = self._drops
        self._dropped.clear()
        self._entries.clear()
        self._bytes = 0

    def subscribed(self) -> None:
        """The subscription is confirmed: what was read before it may have missed an invalidation."""
        self.clear()
        self._subscribed = True
        self.subscriptions += 1
        self.heard()

    def heard(self) -> None:
        self._heard = time.monotonic()

    def lost(self) -> None:
        """The subscription failed or went silent: nothing is served until subscribed again."""
        self._subscribed = False
        self.clear()

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry[2]


async def run_invalidation_listener(redis: Redis, layer: LocalLayer, *, prefix: str, epoch_key: str) -> None:
    """The subscriber of this process: keeps `layer` in step with Redis, reconnecting after any failure.

    `redis` is a client of its own (RESP2, for the REDIRECT form of tracking), used by nothing else.
    """
    failing = False
    while True:
        subscriptions = layer.subscriptions
        try:
            await _listen(redis, layer, prefix=prefix, epoch_key=epoch_key)
        except (RedisError, OSError, TimeoutError) as exc:
            # Logged once for a run of failed attempts, and again for each subscription lost.
            if not failing or layer.subscriptions != subscriptions:
                log.warning("the local cache is off until its subscription to Redis is back: %s", exc)
            failing = True
        await asyncio.sleep(RECONNECT_SECONDS)


class _Silent(RedisError):
    """Nothing heard on the subscription, not even the answer to a PING, for SILENT_SECONDS."""


async def _listen(redis: Redis, layer: LocalLayer, *, prefix: str, epoch_key: str) -> None:
    # A new PubSub on every attempt: redis-py reconnects and resubscribes a dropped PubSub connection by itself,
    # which would hide the gap in which invalidations were lost.
    pubsub = redis.pubsub()
    try:
        await pubsub.execute_command("CLIENT", "ID")
        client_id = await pubsub.parse_response(block=False, timeout=SILENT_SECONDS)
        if not isinstance(client_id, int):
            raise _Silent("no answer to CLIENT ID")
        await pubsub.execute_command("CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST", "PREFIX", prefix)
        if await pubsub.parse_response(block=False, timeout=SILENT_SECONDS) not in (b"OK", "OK"):
            raise _Silent("no answer to CLIENT TRACKING")
        await pubsub.subscribe(INVALIDATE_CHANNEL)
        epoch = epoch_key.encode()
        heard = pinged = time.monotonic()
        confirmed = False
        while True:
            message = await pubsub.get_message(timeout=HEARTBEAT_SECONDS)
            now = time.monotonic()
            if message is not None:
                heard = now
                kind = message["type"]
                if kind == "subscribe":
                    # A second confirmation would be redis-py's own resubscription on a new connection, one
                    # without tracking: nothing would ever be announced on it.
                    if confirmed:
                        raise _Silent("subscribed again on another connection")
                    confirmed = True
                    layer.subscribed()
                    log.info("the local cache is on: subscribed to Redis's invalidations")
                elif kind == "message":
                    keys = message["data"]
                    # No keys: the database was flushed. The epoch's increment ends every session cache entry.
                    if keys is None or epoch in keys:
                        layer.clear()
                    else:
                        layer.drop(*(key.decode() for key in keys))
                layer.heard()
            elif now - heard > SILENT_SECONDS:
                raise _Silent(f"nothing heard for {SILENT_SECONDS} s, not even a PONG")
            if now - pinged >= HEARTBEAT_SECONDS:
                await pubsub.ping()
                pinged = now
    finally:
        layer.lost()
        await pubsub.aclose()
