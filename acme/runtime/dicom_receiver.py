"""The DICOM receiver as a process of the platform: ``python -m acme.runtime.dicom_receiver``.

``acme up`` runs it beside the bucket-events adapter and the tick source (on the port it
chose when ``ACME_DICOM_PORT`` is 0); in a cluster it is a Deployment of its own. It serves
associations (:mod:`acme.dicomnet.receiver`) until SIGTERM or SIGINT, writing instances into
dicom-inbox and association records into PostgreSQL.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from acme.db import make_pool
from acme.dicomnet.journal import PostgresJournal
from acme.dicomnet.receiver import DicomReceiver, ReceiverConfig
from acme.log import configure_logging
from acme.settings import load_settings
from acme.stack.state import connect_settings
from acme.storage import S3ObjectStore, make_s3_client

__all__ = ["main"]


def main() -> None:
    """Entry point of ``python -m acme.runtime.dicom_receiver``."""
    settings = connect_settings(load_settings())
    configure_logging(settings, service="dicom-receiver")
    # pynetdicom's INFO and DEBUG lines dump requests and datasets (patient attributes).
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    config = ReceiverConfig.from_settings(settings)
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    pool = make_pool(settings, application_name="dicom-receiver")
    try:
        receiver = DicomReceiver(
            config,
            store=S3ObjectStore(make_s3_client(settings)),
            bucket=settings.buckets.inbox,
            journal=PostgresJournal(pool),
        )
        receiver.start()
        stop.wait()
        receiver.stop()
    finally:
        pool.close()


if __name__ == "__main__":
    main()
