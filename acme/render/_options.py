"""What the generated cluster deployment assumes about its cluster, in one place."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from acme import __version__
from acme.errors import AcmeError

__all__ = ["ClusterOptions", "Names", "RenderError"]

Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
"""A Kubernetes object name (an RFC 1123 label)."""


class RenderError(AcmeError):
    """stack.yml asks for something the generated deployment cannot express; says what."""


class Names:
    """Names of the objects the manifests refer to (created by the operator or generated)."""

    CONFIG: Final = "acme-config"
    """ConfigMap of the ACME_* settings every container shares (generated, site-specific)."""
    EVENTS: Final = "acme-events"
    """ConfigMap of the delivery-token settings: differs between the two delivery paths."""
    SECRETS: Final = "acme-secrets"
    """Secret with ACME_DATABASE_URL, ACME_S3_ACCESS_KEY, ACME_S3_SECRET_KEY (operator)."""
    EVENTS_JWKS: Final = "acme-events-jwks"
    """ConfigMap holding events-jwks.json, the keys delivery tokens are verified with."""
    DELIVERY_KEY: Final = "acme-delivery-key"
    """Secret holding events-key.json, the router's signing key (router path only)."""
    JWKS_DIR: Final = "/etc/acme/events"
    KEY_DIR: Final = "/etc/acme/delivery"
    ROUTER: Final = "acme-router"
    TICK: Final = "acme-tick"
    BUCKET_EVENTS: Final = "acme-bucket-events"
    BOOTSTRAP: Final = "acme-bootstrap"
    GPU_LABEL: Final = "acme-imaging.io/gpu"
    PART_OF: Final = "acme-imaging"


class ClusterOptions(BaseModel):
    """The cluster-side choices of the generated deployment (``acme render knative``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    namespace: Name = "acme"
    platform_image: Annotated[str, StringConstraints(pattern=r"^\S+$")] = Field(
        default=f"ghcr.io/acme-imaging/platform:{__version__}",
        description="Image of the router, tick, bucket-events adapter and bootstrap Job.",
    )
    broker: Name = "default"
    dead_letter_broker: Name = "dead-letters"

    @property
    def broker_audience(self) -> str:
        """The audience a Broker announces under Knative's sender identity."""
        return f"eventing.knative.dev/broker/{self.namespace}/{self.broker}"

    def function_url(self) -> str:
        """The cluster-local address of a Knative Service, ``{name}`` left to fill in."""
        return f"http://{{name}}.{self.namespace}.svc.cluster.local"
