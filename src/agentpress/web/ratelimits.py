"""The rate limits a route applies, per client IP and per target: 429 with Retry-After past one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from agentpress.services.rate_counters import RateLimiter, Verdict
from agentpress.settings import Rate, Settings
from agentpress.web.clients import client_ip
from agentpress.web.errors import ApiError
from agentpress.web.lifespan import resources


def too_many(what: str, verdict: Verdict) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        f"too many {what}; try again in {verdict.retry_after} s",
        headers={"Retry-After": str(verdict.retry_after)},
    )


def _normalized(email: str) -> str:
    return email.strip().lower()


class Limits:
    """One request's limits: its client's IP and the service's shared counters."""

    def __init__(self, limiter: RateLimiter, settings: Settings, ip: str) -> None:
        self.limiter, self.settings, self.ip = limiter, settings, ip

    async def per_ip(self, name: str, rate: Rate, what: str) -> None:
        """Count this request against the client IP's limit `name`."""
        verdict = await self.limiter.hit(name, self.ip, rate)
        if not verdict.allowed:
            raise too_many(what, verdict)

    async def per_user(self, name: str, user_id: UUID, rate: Rate, what: str) -> None:
        """Count this request against the signed-in user's limit `name`, wherever they call from."""
        verdict = await self.limiter.hit(name, str(user_id), rate)
        if not verdict.allowed:
            raise too_many(what, verdict)

    async def mail_to(self, email: str) -> None:
        """Count one mail to this address (reset links, invitations), whoever asks for it."""
        verdict = await self.limiter.hit("mail", _normalized(email), self.settings.rate_limit_mail_per_recipient)
        if not verdict.allowed:
            raise too_many("mails to this address", verdict)

    async def check_sign_in(self, email: str) -> None:
        """Before a password is checked: the failures of this account from this IP, and from anywhere.

        Failures count per (account, IP) under a low cap, and per account under a higher one: a guesser is
        stopped early, while someone elsewhere trying to lock the owner out needs many addresses to do it.
        """
        settings, account = self.settings, _normalized(email)
        for name, key, rate in (
            ("login-fail-ip", f"{account}|{self.ip}", settings.rate_limit_failed_login_per_account_ip),
            ("login-fail", account, settings.rate_limit_failed_login_per_account),
        ):
            verdict = await self.limiter.check(name, key, rate)
            if not verdict.allowed:
                raise too_many("failed sign-ins for this account", verdict)

    async def sign_in_failed(self, email: str) -> None:
        settings, account = self.settings, _normalized(email)
        await self.limiter.hit("login-fail-ip", f"{account}|{self.ip}", settings.rate_limit_failed_login_per_account_ip)
        await self.limiter.hit("login-fail", account, settings.rate_limit_failed_login_per_account)


def provide_limits(state: State, request: Request[Any, Any, Any]) -> Limits:
    found = resources(state)
    return Limits(found.limiter, found.settings, client_ip(request, found.settings.trusted_proxies))


LimitsDep = NamedDependency[Limits]
"""A handler parameter `limits: LimitsDep` applies rate limits to the request."""
