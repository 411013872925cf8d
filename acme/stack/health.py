"""Health probes for the four servers, used for embedded and external ones alike.

A probe returns normally when the server answers as the platform needs (JetStream enabled,
SQL works, PING answered, S3 lists buckets) and raises :class:`ProbeFailure` otherwise, with
``kind`` telling an unreachable server from refused credentials.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.config
import botocore.exceptions
import nats
import nats.errors
import psycopg
import redis

FailureKind = Literal["unreachable", "credentials", "protocol"]


class ProbeFailure(Exception):
    """The server did not answer as expected; ``kind`` says how."""

    def __init__(self, kind: FailureKind, detail: str) -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(f"{kind}: {detail}")


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (safe to print and log)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def probe_nats(url: str, timeout: float) -> None:
    async def quiet(_: Exception) -> None:
        """nats-py logs connection errors with a traceback by default; the probe reports them."""

    async def check() -> None:
        try:
            conn = await asyncio.wait_for(
                nats.connect(
                    url,
                    connect_timeout=timeout,
                    max_reconnect_attempts=0,
                    allow_reconnect=False,
                    error_cb=quiet,
                ),
                timeout + 1,
            )
        except TimeoutError:
            raise ProbeFailure(
                "unreachable", f"no NATS server answered within {timeout:.0f}s"
            ) from None
        except (OSError, nats.errors.Error) as exc:
            raise ProbeFailure("unreachable", _first_line(exc)) from None
        try:
            await conn.jetstream().account_info()
        except nats.errors.Error as exc:
            raise ProbeFailure(
                "protocol", f"JetStream is not enabled ({_first_line(exc)})"
            ) from None
        finally:
            await conn.close()

    asyncio.run(check())


def probe_postgres(url: str, timeout: float) -> None:
    try:
        with psycopg.connect(url, connect_timeout=max(1, int(timeout))) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        text = str(exc)
        if "password authentication failed" in text or "no password supplied" in text:
            raise ProbeFailure("credentials", "password authentication failed") from None
        if "does not exist" in text:
            raise ProbeFailure("protocol", _first_line(exc)) from None
        raise ProbeFailure("unreachable", _first_line(exc)) from None


def probe_redis(url: str, timeout: float) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except redis.AuthenticationError as exc:
        raise ProbeFailure("credentials", _first_line(exc)) from None
    except redis.ConnectionError as exc:
        raise ProbeFailure("unreachable", _first_line(exc)) from None
    finally:
        client.close()


def s3_prober(access_key: str, secret_key: str, region: str) -> Callable[[str, float], None]:
    """A probe for an S3 endpoint with the given credentials."""

    def probe(url: str, timeout: float) -> None:
        client = boto3.client(
            "s3",
            endpoint_url=url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=botocore.config.Config(
                connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}
            ),
        )
        try:
            client.list_buckets()
        except botocore.exceptions.EndpointConnectionError as exc:
            raise ProbeFailure("unreachable", _first_line(exc)) from None
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"}:
                raise ProbeFailure("credentials", code) from None
            raise ProbeFailure("protocol", _first_line(exc)) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise ProbeFailure("unreachable", _first_line(exc)) from None

    return probe


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
