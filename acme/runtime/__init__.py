"""The function runtime (docs/architecture.md §8): stack file, function pool, gateway, router.

:class:`Runtime` composes them for ``acme up``; :class:`FunctionPool` is the
:class:`Activator` the event router leases functions from.
"""

from acme.runtime.app import (
    PrefixedLines,
    Runtime,
    function_launches,
    router_triggers,
    service_launches,
    settings_environment,
)
from acme.runtime.functions import (
    Activator,
    FunctionLaunch,
    FunctionOutput,
    FunctionPool,
    FunctionStartError,
    FunctionStartTimeout,
    FunctionStatus,
    ProcessLaunch,
    ServiceLaunch,
    UnknownFunction,
)
from acme.runtime.gateway import Gateway
from acme.runtime.metrics import RuntimeMetrics
from acme.runtime.stackfile import FunctionSpec, Stack, StackFileError, Trigger, load_stack

__all__ = [
    "Activator",
    "FunctionLaunch",
    "FunctionOutput",
    "FunctionPool",
    "FunctionSpec",
    "FunctionStartError",
    "FunctionStartTimeout",
    "FunctionStatus",
    "Gateway",
    "PrefixedLines",
    "ProcessLaunch",
    "Runtime",
    "RuntimeMetrics",
    "ServiceLaunch",
    "Stack",
    "StackFileError",
    "Trigger",
    "UnknownFunction",
    "function_launches",
    "load_stack",
    "router_triggers",
    "service_launches",
    "settings_environment",
]
