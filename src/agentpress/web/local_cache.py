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
import ssl
import time
from collections import OrderedDict, deque
from typing import cast
from urllib.parse import unquote, urlsplit

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
# How long the subscriber waits to connect and for each answer while it sets up: not on any request's path, so
# longer than REDIS_TIMEOUT_MS; a Redis this slow leaves the layer off until it answers in time.
ANSWER_SECONDS = 2.0
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


async def run_invalidation_listener(url: str, layer: LocalLayer, *, prefix: str, epoch_key: str) -> None:
    """The subscriber of this process: keeps `layer` in step with Redis, reconnecting after any failure."""
    failing = False
    while True:
        subscriptions = layer.subscriptions
        try:
            await _listen(url, layer, prefix=prefix, epoch_key=epoch_key)
        except (OSError, TimeoutError, ValueError, _Failed) as exc:
            # Logged once for a run of failed attempts, and again for each subscription lost.
            if not failing or layer.subscriptions != subscriptions:
                log.warning("the local cache is off until its subscription to Redis is back: %s", exc)
            failing = True
        await asyncio.sleep(RECONNECT_SECONDS)


class _Failed(Exception):
    """Redis refused a command of the subscription, or went silent, or closed it."""


async def _listen(url: str, layer: LocalLayer, *, prefix: str, epoch_key: str) -> None:
    loop = asyncio.get_running_loop()
    target = urlsplit(url)
    subscription = _Subscription(layer, epoch_key.encode())
    if target.scheme == "unix":
        connecting = loop.create_unix_connection(lambda: subscription, unquote(target.path))
    elif target.scheme in ("redis", "rediss"):
        tls = ssl.create_default_context() if target.scheme == "rediss" else None
        host = target.hostname or "localhost"
        connecting = loop.create_connection(lambda: subscription, host, target.port or 6379, ssl=tls)
    else:
        raise ValueError(f"unsupported Redis URL scheme {target.scheme!r}")
    transport, _ = await asyncio.wait_for(connecting, ANSWER_SECONDS)
    try:
        if target.password is not None:
            user = [unquote(target.username)] if target.username else []
            await subscription.command("AUTH", *user, unquote(target.password))
        client_id = await subscription.command("CLIENT", "ID")
        await subscription.command("CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST", "PREFIX", prefix)
        subscription.subscribe(INVALIDATE_CHANNEL)
        while True:
            await asyncio.wait([subscription.closed], timeout=HEARTBEAT_SECONDS)
            if subscription.closed.done():
                raise _Failed(f"the connection closed: {subscription.closed.result() or 'by Redis'}")
            if time.monotonic() - subscription.heard > SILENT_SECONDS:
                raise _Failed(f"nothing heard for {SILENT_SECONDS} s, not even a PONG")
            transport.write(b"*1\r\n$4\r\nPING\r\n")
    finally:
        layer.lost()
        transport.abort()


class _Subscription(asyncio.Protocol):
    """The subscriber's connection, RESP2 by hand. Every process handles every announcement, so its cost is paid
    once per process for each write: through redis-py's PubSub (a task woken per message, its retry and
    observability wrappers) one cost about 0.17 ms of CPU, handled here in the callback that receives it about
    0.07 ms (one SET every 0.5 ms from another process, 3,000 of them, uvloop, on a busy 2-core machine)."""

    def __init__(self, layer: LocalLayer, epoch: bytes) -> None:
        self.layer = layer
        self.epoch = epoch
        self.buffer = bytearray()
        self.replies: deque[asyncio.Future[object]] = deque()
        self.closed: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.confirmed = False
        self.subscribing = False
        self.heard = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.layer.lost()
        if not self.closed.done():
            self.closed.set_result(exc)
        for reply in self.replies:
            if not reply.done():
                reply.set_exception(_Failed("the connection closed"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        position = 0
        try:
            while (parsed := _parse(self.buffer, position)) is not None:
                value, position = parsed
                self._received(value)
        except _Failed as exc:
            self.layer.lost()
            if not self.closed.done():
                self.closed.set_result(exc)
            if self.transport is not None:
                self.transport.abort()
        del self.buffer[:position]

    async def command(self, *args: object) -> object:
        reply: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.replies.append(reply)
        self._send(*args)
        value = await asyncio.wait_for(reply, ANSWER_SECONDS)
        if isinstance(value, _Error):
            raise _Failed(f"{args[0]} {args[1] if len(args) > 1 else ''}: {value}")
        return value

    def subscribe(self, channel: str) -> None:
        self.subscribing = True
        self._send("SUBSCRIBE", channel)

    def _send(self, *args: object) -> None:
        parts = [str(arg).encode() for arg in args]
        assert self.transport is not None
        self.transport.write(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in parts))

    def _received(self, value: object) -> None:
        self.heard = time.monotonic()
        if not self.subscribing:
            if not self.replies:
                raise _Failed("an answer to no command")
            self.replies.popleft().set_result(value)
            return
        if not isinstance(value, list) or not value:
            raise _Failed(f"not a message: {value!r}")
        kind = value[0]
        if kind == b"message":
            keys = value[2]
            # No keys: the database was flushed. The epoch's increment ends every session cache entry.
            if keys is None or self.epoch in keys:
                self.layer.clear()
            else:
                self.layer.drop(*(key.decode() for key in keys))
        elif kind == b"subscribe":
            if self.confirmed:
                raise _Failed("subscribed twice")
            self.confirmed = True
            self.layer.subscribed()
            log.info("the local cache is on: subscribed to Redis's invalidations")
        elif kind != b"pong":
            raise _Failed(f"unexpected {kind!r}")
        self.layer.heard()


class _Error(str):
    """A RESP error reply."""


def _parse(buffer: bytearray, position: int) -> tuple[object, int] | None:
    """One RESP2 value from buffer[position:], and where the next one starts; None while it is incomplete."""
    end = buffer.find(b"\r\n", position)
    if end < 0:
        return None
    kind, line = buffer[position : position + 1], bytes(buffer[position + 1 : end])
    position = end + 2
    if kind == b"+":
        return line, position
    if kind == b"-":
        return _Error(line.decode(errors="replace")), position
    if kind == b":":
        return int(line), position
    if kind == b"$":
        length = int(line)
        if length < 0:
            return None, position
        if len(buffer) < position + length + 2:
            return None
        return bytes(buffer[position : position + length]), position + length + 2
    if kind == b"*":
        count = int(line)
        if count < 0:
            return None, position
        items: list[object] = []
        for _ in range(count):
            parsed = _parse(buffer, position)
            if parsed is None:
                return None
            item, position = parsed
            items.append(item)
        return items, position
    raise _Failed(f"not RESP2: {bytes(kind)!r}")
