"""Channel settings name their secrets by environment variable: a key that looks like a secret is refused."""

from __future__ import annotations

import pytest

from agentpress.services.desktop.layout import LayoutError, is_secret_setting, parse_tree

SECRET_KEYS = [
    "token",
    "bot_token",
    "botToken",
    "BOT_TOKEN",
    "accessToken",
    "bottoken",
    "secret",
    "secret_key",
    "secretKey",
    "client-secret",
    "clientSecret",
    "signing_secret",
    "access_key",
    "accessKey",
    "api_key",
    "apiKey",
    "APIKey",
    "private_key",
    "password",
    "smtp.password",
    "passwd",
    "credentials",
    "webhook_url",
    "webhookUrl",
    "incoming-webhook",
    "hook_url",
    "basic_auth",
    "authorization",
    "cookie",
    "dsn",
]
PLAIN_KEYS = [
    "channel",
    "allowed_origins",
    "allowedOrigins",
    "bot_token_env",
    "botTokenEnv",
    "webhook_url_env",
    "client-secret-env",
    "team_id",
    "greeting",
    "max_messages",
    "author_field",
]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_a_key_that_names_a_secret_is_one(key: str) -> None:
    assert is_secret_setting(key)


@pytest.mark.parametrize("key", PLAIN_KEYS)
def test_other_keys_and_those_that_name_a_variable_are_not(key: str) -> None:
    assert not is_secret_setting(key)


CHANNELS = """channels:
  - name: support-slack
    kind: slack
    settings:
      channel: "#support"
      nested:
        {key}: xoxb-not-for-git
"""


@pytest.mark.parametrize("key", ["botToken", "secret_key", "access_key", "client-secret", "webhook_url"])
def test_an_import_with_a_secret_in_channel_settings_is_refused_naming_it(key: str) -> None:
    with pytest.raises(LayoutError) as refused:
        parse_tree({"channels.yaml": CHANNELS.format(key=key).encode()}, [])
    (problem,) = refused.value.problems
    assert problem.field == f"channels[0].settings.nested.{key}"
    assert "looks like a secret: put it in an environment variable" in problem.message
