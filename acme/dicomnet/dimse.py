"""The C-STORE / C-ECHO adapter of :class:`~acme.dicomnet.senders.Sender` (pynetdicom SCU).

One association per call: every object's SOP class is proposed with the transfer syntax it
is encoded in (plus Explicit VR Little Endian, which every SCP accepts, when pydicom can
convert to it). A status other than Success or Warning (``0xB000``-``0xBFFF``) fails the
send, naming the object's position, the status and the peer's Error Comment.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.association import Association

from acme.dicomnet.destinations import DimseDestination
from acme.dicomnet.senders import SendError

__all__ = ["DimseSender"]

_VERIFICATION = "1.2.840.10008.1.1"


class DimseSender:
    """Sends to one DICOM C-STORE SCP."""

    def __init__(self, name: str, destination: DimseDestination, *, calling_ae_title: str) -> None:
        self.name = name
        self.destination = destination
        self.calling_ae_title = calling_ae_title

    def echo(self) -> None:
        assoc = self._associate({_VERIFICATION: [ExplicitVRLittleEndian]})
        try:
            status = assoc.send_c_echo()
            code = int(status.get("Status", -1)) if status else -1
            if code != 0:
                raise SendError(self.name, _answer("C-ECHO", status))
        finally:
            _close(assoc)

    def send(self, instances: Sequence[Dataset]) -> None:
        contexts: dict[str, list[str]] = {}
        for ds in instances:
            syntax = str(ds.file_meta.TransferSyntaxUID)
            proposed = contexts.setdefault(str(ds.SOPClassUID), [])
            for uid in (syntax, str(ExplicitVRLittleEndian)):
                if uid not in proposed:
                    proposed.append(uid)
        assoc = self._associate(contexts)
        try:
            for index, ds in enumerate(instances, start=1):
                status = assoc.send_c_store(ds)
                code = int(status.get("Status", -1)) if status else -1
                if code != 0 and not 0xB000 <= code <= 0xBFFF:
                    raise SendError(
                        self.name,
                        f"object {index} of {len(instances)}: " + _answer("C-STORE", status),
                    )
        except (ValueError, RuntimeError) as exc:  # no accepted context, association gone
            raise SendError(self.name, f"C-STORE not possible: {exc}") from None
        finally:
            _close(assoc)

    def _associate(self, contexts: dict[str, list[str]]) -> Association:
        dest = self.destination
        ae = AE(ae_title=self.calling_ae_title)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = dest.timeout
        ae.connection_timeout = dest.timeout
        for abstract, syntaxes in contexts.items():
            ae.add_requested_context(abstract, syntaxes)
        assoc = ae.associate(dest.host, dest.port, ae_title=dest.ae_title)
        if assoc.is_established:
            return assoc
        where = f"{dest.ae_title}@{dest.host}:{dest.port}"
        if assoc.is_rejected:
            raise SendError(self.name, f"association with {where} rejected")
        if assoc.is_aborted:
            raise SendError(self.name, f"association with {where} aborted")
        raise SendError(self.name, f"no association with {where} (unreachable or no answer)")


def _answer(operation: str, status: Dataset | None) -> str:
    if not status:
        return f"{operation} got no answer (timeout or connection lost)"
    code = int(status.get("Status", -1))
    comment = status.get("ErrorComment")
    return f"{operation} answered 0x{code:04X}" + (f" ({comment})" if comment else "")


def _close(assoc: Association) -> None:
    if assoc.is_established:
        assoc.release()
