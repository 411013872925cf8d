"""WADO-RS metadata (PS3.18 10.4.1.1.2): each instance as DICOM JSON, bulk data by reference.

Binary values longer than :data:`INLINE_LIMIT` bytes (Pixel Data, overlays, curves...) are not
sent: each has a ``BulkDataURI``, ``<instance URL>/bulkdata/<tag path>``, where the tag path
names the element through its sequences (``00282000`` or ``00880200/0/7FE00010``).

An instance's JSON is cached in Redis (a rebuildable cache, keyed by its SOP Instance UID
and content hash) with its URIs relative to the DICOMweb base, which is prepended on the way
out (the base depends on how the client reached the gateway).
"""

from __future__ import annotations

import json
from typing import Any, Final

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from acme.function import Context
from acme.http import ApiError
from worklist import catalog
from worklist.cache import Cache
from worklist.catalog import Archived
from worklist.encoding import read
from worklist.links import instance_url

INLINE_LIMIT: Final = 1024
_BINARY: Final = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN"})
_RELATIVE: Final = "{base}"


def instances_metadata(ctx: Context, instances: list[Archived], root: str) -> list[dict[str, Any]]:
    """The metadata of ``instances``, with absolute bulk-data URIs under ``root``."""
    cache = Cache(ctx, "metadata")
    out = []
    for instance in instances:
        key = f"{instance.sop_uid}:{instance.sha256}"
        cached = cache.get(key)
        if cached is None:
            data = ctx.store.get(ctx.settings.buckets.archive, instance.archive_key)
            cached = json.dumps(to_json(read(data), instance), separators=(",", ":")).encode()
            cache.put(key, cached)
        out.append(_rooted(json.loads(cached), root))
    return out


def to_json(ds: Dataset, instance: Archived) -> dict[str, Any]:
    """``ds`` as DICOM JSON, long binary values replaced by relative ``BulkDataURI``\\ s."""
    where = instance_url(_RELATIVE, instance.study_uid, instance.series_uid, instance.sop_uid)
    paths = _paths(ds)

    def bulk(element: DataElement) -> str:
        return f"{where}/bulkdata/{paths[id(element)]}"

    body: dict[str, Any] = ds.to_json_dict(
        bulk_data_threshold=INLINE_LIMIT, bulk_data_element_handler=bulk
    )
    return body


def _paths(ds: Dataset, prefix: str = "") -> dict[int, str]:
    """The tag path of every element of ``ds``, by the element's identity."""
    found: dict[int, str] = {}
    for element in ds:
        path = f"{prefix}{element.tag:08X}"
        found[id(element)] = path
        if element.VR == "SQ":
            for index, item in enumerate(element.value):
                found.update(_paths(item, f"{path}/{index}/"))
    return found


def _rooted(value: Any, root: str) -> Any:
    if isinstance(value, dict):
        return {
            k: (v.replace(_RELATIVE, root, 1) if k == "BulkDataURI" else _rooted(v, root))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rooted(v, root) for v in value]
    return value


def bulk_value(ctx: Context, instance: Archived, tag_path: str) -> tuple[bytes, str]:
    """The bytes of the element at ``tag_path`` and its VR; 404 when it is not there."""
    ds = read(ctx.store.get(ctx.settings.buckets.archive, instance.archive_key))
    parts = tag_path.upper().split("/")
    current: Dataset = ds
    for position in range(0, len(parts) - 1, 2):
        sequence = current.get(int(parts[position], 16))
        index = int(parts[position + 1])
        if sequence is None or sequence.VR != "SQ" or index >= len(sequence.value):
            raise ApiError(404, "not-found", f"no sequence item {'/'.join(parts[: position + 2])}")
        current = sequence.value[index]
    element = current.get(int(parts[-1], 16))
    if element is None or element.VR not in _BINARY or element.value is None:
        raise ApiError(404, "not-found", f"no bulk data element {tag_path} in the instance")
    value = element.value
    return (bytes(value) if isinstance(value, bytes | bytearray) else element.value), element.VR


def archived_one(ctx: Context, study: str, series: str, sop: str) -> Archived:
    """The one archived instance (404 naming what is unknown)."""
    return catalog.archived(ctx.db, study, series, sop)[0]
