"""All configuration, read once from ``ACME_*`` environment variables and passed explicitly.

Every field below is one documented setting; its environment variable is ``ACME_`` plus the
field name in upper case (``K_SINK`` is the Knative name, unprefixed). ``README.md`` lists them
and a test keeps that list true. Nothing else in the code reads the environment.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from acme.dicomnet.peers import AllowedPeer, check_ae_title, parse_allow_list
from acme.errors import ConfigError

ENV_PREFIX = "ACME_"
_ORIGIN = re.compile(
    r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$"
)


class Buckets:
    """The five bucket names of docs/architecture.md §4, with the configured prefix."""

    def __init__(self, prefix: str) -> None:
        self.inbox = f"{prefix}dicom-inbox"
        self.archive = f"{prefix}dicom-archive"
        self.quarantine = f"{prefix}dicom-quarantine"
        self.models = f"{prefix}models"
        self.results = f"{prefix}results"

    def all(self) -> tuple[str, ...]:
        return (self.inbox, self.archive, self.quarantine, self.models, self.results)


class Settings(BaseSettings):
    """The platform settings; build with :func:`load_settings` for errors naming the variable."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    home: Path = Field(
        Path(".acme"), description="Where the embedded servers keep their data, logs and state."
    )
    host: str = Field("127.0.0.1", description="Loopback address the embedded servers bind to.")

    nats_url: str | None = Field(
        None, description="NATS server URL (nats://host:port); unset: start an embedded one."
    )
    database_url: str | None = Field(
        None,
        description="PostgreSQL URL (postgresql://user:password@host:port/db); unset: embedded.",
    )
    redis_url: str | None = Field(
        None, description="Redis URL (redis://host:port/db); unset: start an embedded one."
    )
    s3_url: str | None = Field(
        None, description="S3 endpoint URL (http://host:port); unset: embedded SeaweedFS."
    )
    s3_access_key: str = Field("acme", description="S3 access key id.")
    s3_secret_key: SecretStr = Field(SecretStr("acme-secret"), description="S3 secret key.")
    s3_region: str = Field("us-east-1", description="S3 region name.")

    nats_port: int = Field(0, ge=0, le=65535, description="Embedded NATS port; 0 picks a free one.")
    postgres_port: int = Field(
        0, ge=0, le=65535, description="Embedded PostgreSQL port; 0 picks a free one."
    )
    redis_port: int = Field(
        0, ge=0, le=65535, description="Embedded Redis port; 0 picks a free one."
    )
    s3_port: int = Field(
        0, ge=0, le=65535, description="Embedded SeaweedFS S3 port; 0 picks a free one."
    )
    webhook_port: int = Field(
        0, ge=0, le=65535, description="Port of the bucket-notification webhook; 0 picks one."
    )
    gateway_port: int = Field(
        8080, ge=0, le=65535, description="Gateway port (SPA, /function/<name>/, /metrics)."
    )
    gateway_host: str = Field(
        "127.0.0.1", description="Address the gateway listens on (0.0.0.0 for the intranet)."
    )
    stack_file: Path = Field(
        Path("stack.yml"), description="The stack file (OpenFaaS format) listing the functions."
    )
    functions: str | None = Field(
        None,
        description="Comma-separated functions of the stack file to run; unset: all of them.",
    )
    web_dir: Path = Field(
        Path("web/dist"), description="Built single-page app the gateway serves at /."
    )
    function_start_timeout: float = Field(
        300.0,
        gt=0,
        description="Longest wait, in seconds, for a function to start (cold start) for a caller.",
    )
    prefork: bool = Field(
        True,
        description=(
            "Fork the platform's Python processes from one process that has imported their "
            "modules (shared memory, starts in a fraction of a second); `acme up` imports "
            "them first and forks that process from itself, so it shares the memory too. "
            "False: each imports its own."
        ),
    )
    function_timeout: float = Field(
        300.0,
        gt=0,
        description="Seconds a function may take to answer a request proxied by the gateway.",
    )

    bucket_prefix: str = Field("", description="Prefix for every bucket name (isolation).")
    stream: str = Field("ACME_EVENTS", description="JetStream stream holding every event.")
    subject_prefix: str = Field(
        "acme.events", description="NATS subject prefix; events go to <prefix>.<type>."
    )
    k_sink: str | None = Field(
        None,
        validation_alias=AliasChoices("K_SINK", "ACME_K_SINK"),
        description="Knative SinkBinding URL (K_SINK); when set, events are POSTed there.",
    )

    dlq_stream: str | None = Field(
        None,
        description="JetStream stream holding dead-lettered events; unset: <ACME_STREAM>_DLQ.",
    )
    router_ack_wait: float = Field(
        30.0,
        gt=0,
        description="Seconds the router may go silent on an event before JetStream redelivers it.",
    )
    router_concurrency: int = Field(
        4,
        ge=1,
        le=1000,
        description="Events the router delivers at once per trigger, for a trigger that does "
        "not say (stack.yml triggers take com.acme.trigger.<name>.concurrency).",
    )
    router_function_url: str | None = Field(
        None,
        description=(
            "Where the cluster router (python -m acme.runtime.cluster_router) delivers: a URL"
            " with {name} for the function, e.g. http://{name}.acme.svc.cluster.local."
        ),
    )
    router_port: int = Field(
        9090,
        ge=0,
        le=65535,
        description="Port the cluster router serves /healthz and /metrics on; 0 picks one.",
    )
    tick_seconds: float = Field(
        5.0, gt=0, description="Interval of the org.acme.imaging.tick heartbeat, in seconds."
    )
    bucket_events_transport: Literal["seaweedfs", "minio", "sqs", "none"] = Field(
        "seaweedfs",
        description=(
            "Where bucket notifications come from: SeaweedFS webhook, MinIO via NATS, SQS, or"
            " none (the inbox sweep alone finds new objects)."
        ),
    )
    minio_subject: str = Field(
        "minio.bucket-events",
        description="NATS subject MinIO publishes bucket notifications on (its NATS target).",
    )
    minio_stream: str = Field(
        "MINIO_BUCKET_EVENTS",
        description="JetStream stream that keeps MinIO's notifications until they are republished.",
    )
    sqs_queue_url: str | None = Field(
        None, description="SQS queue receiving the S3 bucket notifications (sqs transport)."
    )
    sqs_endpoint_url: str | None = Field(
        None, description="SQS endpoint (LocalStack, moto); unset: the AWS endpoint of the region."
    )
    sqs_wait_seconds: int = Field(
        10, ge=0, le=20, description="SQS long-poll wait per receive, in seconds."
    )

    send_workers: int = Field(
        8, ge=1, le=128, description="Uploads acme send keeps in flight at once (--workers)."
    )
    ingest_max_bytes: int = Field(
        2 * 1024**3, gt=0, description="Largest inbox object ingest reads; larger: too-large."
    )
    inbox_grace_seconds: float = Field(
        60.0,
        ge=0,
        description="Age after which an inbox object is taken to have lost its notification.",
    )
    sweep_batch: int = Field(200, ge=1, description="Most stranded inbox objects one tick ingests.")
    ingest_attempts: int = Field(
        3,
        ge=1,
        description=(
            "Failed tries at one inbox object before it is quarantined as ingest-error (keep it"
            " at most the objects trigger's retry + 1 in stack.yml)."
        ),
    )
    routing_file: Path | None = Field(
        None, description="Routing rules for dicom-ingest; unset: its bundled routing.yml."
    )
    archive_min_free_bytes: int = Field(
        1024**3,
        ge=0,
        description=(
            "Ingest pauses while the archive volume has less free space than this; objects"
            " wait in dicom-inbox until it has more. 0: never pauses."
        ),
    )
    archive_volume: Path | None = Field(
        None,
        description=(
            "A folder on the filesystem that holds the archive's data, whose free space ingest"
            " watches; unset: the embedded SeaweedFS data folder (<home>/s3/data) when it"
            " exists, else none (an external S3 server reports no free space)."
        ),
    )

    models_dir: Path = Field(
        Path("models"),
        description="Shipped models (<name>/<version>/model.onnx + model.json) acme up registers.",
    )
    cxr_model: str = Field(
        "cxr-synthetic", description="Registry name of the model infer-cxr runs."
    )
    cxr_model_version: str | None = Field(
        None, description="Version of ACME_CXR_MODEL to run; unset: the newest registered."
    )
    cxr_max_images: int = Field(
        16, ge=1, le=1000, description="Most images of one series infer-cxr scores."
    )
    cxr_heatmap_grid: int = Field(
        7,
        ge=0,
        le=32,
        description="Occlusion positions per side for heatmaps (grid^2 extra runs); 0: none.",
    )
    ct_model: str = Field(
        "ct-nodule-synthetic", description="Registry name of the nodule model infer-ct runs."
    )
    ct_model_version: str | None = Field(
        None, description="Version of ACME_CT_MODEL to run; unset: the newest registered."
    )
    ct_min_slices: int = Field(
        16, ge=2, le=10000, description="Fewest slices infer-ct takes as a volume."
    )
    ct_max_slices: int = Field(
        2000, ge=2, le=20000, description="Most slices of one series infer-ct assembles."
    )
    ct_max_nodules: int = Field(
        10, ge=1, le=100, description="Most nodules one CT run reports (the most probable)."
    )
    ct_qa_water_tolerance_hu: float = Field(
        4.0, gt=0, le=100, description="CT QA: the water's mean CT number passes within ± this."
    )
    ct_qa_uniformity_tolerance_hu: float = Field(
        5.0,
        gt=0,
        le=100,
        description="CT QA: each peripheral region's mean passes within ± this of the centre's.",
    )
    ct_qa_noise_max_hu: float = Field(
        10.0, gt=0, le=200, description="CT QA: the central region's SD passes up to this."
    )
    inference_device: Literal["auto", "cuda", "cpu"] = Field(
        "auto", description="auto: the CUDA execution provider when present, else the CPU."
    )
    inference_threads: int = Field(
        0, ge=0, le=256, description="onnxruntime intra-op threads; 0: one per core."
    )
    inference_batch_size: int = Field(
        8, ge=1, le=1024, description="Most images in one onnxruntime run."
    )
    inference_batch_wait_ms: float = Field(
        0.0,
        ge=0,
        le=1000,
        description="How long a request waits for others to share its onnxruntime run.",
    )

    auth_issuer: str = Field(
        "acme-local",
        min_length=1,
        description=(
            "Expected iss of bearer tokens: the OIDC issuer (Keycloak: https://<host>/realms/"
            "<realm>); acme-local: the local key of acme up and acme token."
        ),
    )
    auth_audience: str = Field(
        "acme-imaging",
        min_length=1,
        description="Expected aud of bearer tokens (Keycloak: added by an audience mapper).",
    )
    auth_jwks_url: str | None = Field(
        None,
        description=(
            "JWKS URL of the OIDC provider (Keycloak: <issuer>/protocol/openid-connect/certs);"
            " cached, refetched on an unknown kid. Unset: ACME_AUTH_JWKS_FILE."
        ),
    )
    auth_jwks_file: Path | None = Field(
        None,
        description=(
            "JWKS file of the token signing keys; unset (and no URL): <home>/auth/jwks.json,"
            " the public half of the local key acme up creates."
        ),
    )
    auth_signing_key: Path | None = Field(
        None,
        description="Local private key acme token signs with; unset: <home>/auth/signing-key.json.",
    )
    auth_clock_skew: float = Field(
        30.0, ge=0, le=300, description="Seconds of clock difference allowed for exp, nbf, iat."
    )
    auth_roles_claim: str = Field(
        "roles",
        pattern=r"^[A-Za-z0-9_:/-]+(\.[A-Za-z0-9_:/-]+)*$",
        description="Dotted path of the token's roles (Keycloak realm roles: realm_access.roles).",
    )
    web_client_id: str = Field(
        "acme-imaging",
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:/-]+$",
        description=(
            "The web app's OpenID Connect client at the hospital's provider (Authorization Code"
            " with PKCE against ACME_AUTH_ISSUER); unused with the local issuer."
        ),
    )
    auth_jwks_max_age: float = Field(
        300.0,
        gt=0,
        le=86400,
        description="Seconds keys fetched from ACME_AUTH_JWKS_URL are used before refetching.",
    )

    events_issuer: str = Field(
        "acme-local-events",
        min_length=1,
        description=(
            "Expected iss of event-delivery tokens: the cluster's service-account issuer"
            " (Knative OIDC); acme-local-events: the delivery key of acme up."
        ),
    )
    events_audience: str | None = Field(
        None,
        description=(
            "Audience a CloudEvent function accepts delivery tokens for (a Knative Trigger's"
            " subscriber.audience); unset: acme/functions/<name>."
        ),
    )
    events_jwks_url: str | None = Field(
        None,
        description="JWKS URL of the delivery-token issuer; unset: ACME_EVENTS_JWKS_FILE.",
    )
    events_jwks_file: Path | None = Field(
        None,
        description=(
            "JWKS file of the delivery-token keys; unset (and no URL): <home>/auth/"
            "events-jwks.json, the public half of the delivery key acme up creates."
        ),
    )
    events_signing_key: Path | None = Field(
        None,
        description=(
            "Private key the router and gateway sign delivery tokens with; unset:"
            " <home>/auth/events-key.json."
        ),
    )
    events_subjects: str | None = Field(
        None,
        description=(
            "Comma-separated sub values of accepted delivery tokens (a trailing * matches by"
            " prefix); unset: any sender the issuer vouches for."
        ),
    )
    events_token_ttl: float = Field(
        60.0, gt=0, le=3600, description="Lifetime in seconds of the delivery tokens acme signs."
    )
    events_token_file: Path | None = Field(
        None,
        description=(
            "Token file (a projected service-account token) sent with every event POSTed to"
            " K_SINK; unset: a token signed with the delivery key."
        ),
    )
    events_sink_audience: str | None = Field(
        None,
        description="Audience of the tokens sent to K_SINK (the Broker's address audience).",
    )
    delivery_attempts: int | None = Field(
        None,
        ge=1,
        le=100,
        description=(
            "Deliveries a trigger allows (stack.yml retry + 1), for brokers that do not say it"
            " per delivery; the cluster manifests set it; unset: the router's header."
        ),
    )
    trusted_proxies: str = Field(
        "",
        description=(
            "Comma-separated CIDRs of proxies whose X-Forwarded-For / Forwarded headers are"
            " believed; empty: none (the peer address is the client)."
        ),
    )
    audit_anonymous_limit: int = Field(
        60,
        ge=1,
        le=100000,
        description=(
            "Unauthenticated attempts at PHI routes recorded per source address per minute;"
            " beyond it they get 429 and are not recorded."
        ),
    )
    dicom_receiver: bool = Field(
        True, description="Run the DICOM C-STORE receiver with acme up (false: no DICOM port)."
    )
    dicom_ae_title: str = Field(
        "ACME",
        description="AE title of the receiver, and the calling AE title of what dispatch sends.",
    )
    dicom_host: str = Field(
        "127.0.0.1", description="Address the receiver listens on (0.0.0.0 for the intranet)."
    )
    dicom_port: int = Field(
        11112, ge=0, le=65535, description="Port of the DICOM receiver; 0 picks a free one."
    )
    dicom_calling_aes: str = Field(
        "",
        description=(
            "Comma-separated calling AE titles allowed to associate, each optionally"
            " TITLE@address or TITLE@CIDR; empty: every association is refused."
        ),
    )
    dicom_sop_classes: str = Field(
        "storage",
        description=(
            "SOP classes the receiver accepts: storage (every Storage SOP Class), or"
            " comma-separated UIDs and keywords such as CTImageStorage."
        ),
    )
    dicom_transfer_syntaxes: str = Field(
        "uncompressed,jpeg2000,jpegls,jpeg-lossless,rle",
        description="Transfer syntaxes the receiver accepts: group names or UIDs, comma-separated.",
    )
    dicom_acse_timeout: float = Field(
        30.0, gt=0, le=3600, description="Seconds the receiver waits for association messages."
    )
    dicom_dimse_timeout: float = Field(
        30.0, gt=0, le=3600, description="Seconds the receiver waits for a DIMSE message."
    )
    dicom_network_timeout: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Seconds of silence after which the receiver cuts a peer off (mid-PDU too).",
    )
    dicom_max_associations: int = Field(
        10, ge=1, le=1000, description="Associations the receiver serves at once."
    )
    destinations_file: Path | None = Field(
        None,
        description=("YAML file of the PACS destinations dispatch sends results to; unset: none."),
    )
    cors_origins: str = Field(
        "",
        description=(
            "Comma-separated origins (scheme://host[:port]) whose browsers may call the HTTP"
            " functions from another origin (the SPA, a viewer); empty: none."
        ),
    )
    public_url: str | None = Field(
        None,
        description=(
            "The gateway's address as clients reach it (https://host[:port]); the links HTTP"
            " functions answer with (DICOMweb Retrieve URLs, BulkDataURIs) start with it; unset:"
            " the Host the gateway was reached at."
        ),
    )
    stow_wait_seconds: float = Field(
        10.0,
        ge=0,
        le=120,
        description=(
            "How long a STOW-RS request waits for ingest to settle its instances before it"
            " answers those still pending as accepted."
        ),
    )
    render_cache_seconds: int = Field(
        3600,
        ge=0,
        le=604800,
        description="Seconds a rendered image or instance metadata stays cached in Redis; 0: off.",
    )
    db_pool_min: int = Field(1, ge=0, description="Minimum PostgreSQL pool size.")
    db_pool_max: int = Field(10, ge=1, description="Maximum PostgreSQL pool size.")
    startup_timeout: float = Field(
        30.0, gt=0, description="Seconds a server may take to become healthy."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level."
    )
    log_format: Literal["json", "console"] = Field(
        "json", description="Log output: JSON lines or human-readable console."
    )

    @field_validator("bucket_prefix")
    @classmethod
    def _bucket_prefix_is_dns_safe(cls, value: str) -> str:
        allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-")
        if any(ch not in allowed for ch in value):
            raise ValueError("only lower-case letters, digits and '-' are allowed")
        return value

    @field_validator("stream", "minio_stream", "dlq_stream")
    @classmethod
    def _stream_name(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(ch in value for ch in " .*>")):
            raise ValueError("a JetStream stream name cannot be empty or hold ' . * >'")
        return value

    @field_validator("minio_subject")
    @classmethod
    def _literal_subject(cls, value: str) -> str:
        tokens = value.split(".")
        if any(not token for token in tokens) or any(ch in value for ch in " \t\r\n*>"):
            raise ValueError("expected a literal NATS subject (dot-separated tokens, no * or >)")
        return value

    @field_validator("auth_jwks_url")
    @classmethod
    def _jwks_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("expected an http(s):// URL of a JSON Web Key Set")
        return value

    @field_validator("router_function_url")
    @classmethod
    def _function_url(cls, value: str | None) -> str | None:
        if value is not None and (
            not value.startswith(("https://", "http://")) or "{name}" not in value
        ):
            raise ValueError(
                "expected an http(s):// URL with {name} where the function's name goes"
            )
        return value

    @field_validator("events_jwks_url")
    @classmethod
    def _events_jwks_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("expected an http(s):// URL of a JSON Web Key Set")
        return value

    @field_validator("dicom_ae_title")
    @classmethod
    def _ae_title(cls, value: str) -> str:
        return check_ae_title(value)

    @field_validator("dicom_calling_aes")
    @classmethod
    def _allow_list(cls, value: str) -> str:
        parse_allow_list(value)
        return value

    @field_validator("dicom_transfer_syntaxes", "dicom_sop_classes")
    @classmethod
    def _uid_list(cls, value: str) -> str:
        if not any(part.strip() for part in value.split(",")):
            raise ValueError("expected at least one comma-separated name or UID")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _cidr_list(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            try:
                ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or CIDR block") from None
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",")):
            if part and not _ORIGIN.match(part):
                raise ValueError(
                    f"{part!r} is not an origin: expected scheme://host[:port], no path"
                )
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not _ORIGIN.match(value):
            raise ValueError(f"{value!r}: expected scheme://host[:port], without a path")
        return value

    @property
    def cors_origin_set(self) -> frozenset[str]:
        """``cors_origins`` parsed."""
        return frozenset(p.strip() for p in self.cors_origins.split(",") if p.strip())

    @property
    def trusted_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """``trusted_proxies`` parsed."""
        parts = (p.strip() for p in self.trusted_proxies.split(","))
        return tuple(ip_network(p, strict=False) for p in parts if p)

    @property
    def allowed_peers(self) -> tuple[AllowedPeer, ...]:
        """``dicom_calling_aes`` parsed."""
        return parse_allow_list(self.dicom_calling_aes)

    @property
    def function_names(self) -> frozenset[str] | None:
        """The functions to run (``functions`` split), or None for all."""
        if self.functions is None:
            return None
        return frozenset(name.strip() for name in self.functions.split(",") if name.strip())

    @property
    def buckets(self) -> Buckets:
        return Buckets(self.bucket_prefix)

    @property
    def dead_letter_stream(self) -> str:
        """The JetStream stream of dead letters (``dlq_stream``, else ``<stream>_DLQ``)."""
        return self.dlq_stream or f"{self.stream}_DLQ"

    def subject_for(self, event_type: str) -> str:
        """The NATS subject an event of ``event_type`` is published on."""
        return f"{self.subject_prefix}.{event_type}"


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    if field == "k_sink":
        return "K_SINK"
    return f"{ENV_PREFIX}{field.upper()}"


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """The ``ACME_*`` variables of ``environ`` that no setting reads (misspelt or retired)."""
    known = {env_name(name) for name in Settings.model_fields} | {f"{ENV_PREFIX}K_SINK"}
    return sorted(name for name in environ if name.startswith(ENV_PREFIX) and name not in known)


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment (plus ``overrides``).

    Raises :class:`ConfigError` naming the first wrong variable. Warns, naming it, about each
    ``ACME_*`` variable that no setting reads: a typo would otherwise go unnoticed.
    """
    for name in unknown_variables(os.environ):
        logging.getLogger(__name__).warning(
            "%s is set but no setting has that name; it is ignored (README.md lists the settings)",
            name,
        )
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        raise ConfigError(env_name(field), str(first["msg"])) from None


def settings_table() -> str:
    """The Markdown table of every setting, as README.md shows it."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, SecretStr):
            shown = "(secret)"
        elif default is None:
            shown = "(unset)"
        elif default == "":
            shown = '""'
        else:
            shown = f"`{default}`"
        rows.append(f"| `{env_name(name)}` | {shown} | {field.description} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
