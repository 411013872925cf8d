"""Cluster deployments generated from stack.yml (``acme render knative``).

:func:`render_knative` turns a loaded stack file into the files of ``infra/knative/``:
Knative Services, the delivery path by the platform's router (the default) or by Knative
Eventing's NatsJetStreamBroker, the bucket-events adapter, the bootstrap Job and their
kustomizations. :func:`differences` names what a committed copy lacks; :func:`write` updates it.
"""

from acme.render._durations import go_duration, iso8601
from acme.render._options import ClusterOptions, Names, RenderError
from acme.render._tree import Rendered, differences, render_knative, write

__all__ = [
    "ClusterOptions",
    "Names",
    "RenderError",
    "Rendered",
    "differences",
    "go_duration",
    "iso8601",
    "render_knative",
    "write",
]
