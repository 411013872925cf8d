"""DICOM networking: the C-STORE receiver (SCP), the senders to PACS destinations (C-STORE SCU
and STOW-RS) and what they share.

The modules are imported one by one (``from acme.dicomnet.peers import ...``): the light ones
(:mod:`~acme.dicomnet.peers`, :mod:`~acme.dicomnet.destinations`) are read by the settings
and the CLI without loading pynetdicom.

- :mod:`~acme.dicomnet.peers`: AE titles and the calling-AE allow list.
- :mod:`~acme.dicomnet.contexts`: the SOP classes and transfer syntaxes the receiver accepts.
- :mod:`~acme.dicomnet.checks`: what the receiver checks before it answers a C-STORE.
- :mod:`~acme.dicomnet.receiver`: the SCP (associations, C-ECHO, C-STORE into dicom-inbox).
- :mod:`~acme.dicomnet.journal`: the record of each association (which series it delivered).
- :mod:`~acme.dicomnet.destinations`: the destinations file (one validated YAML document).
- :mod:`~acme.dicomnet.senders`: the :class:`~acme.dicomnet.senders.Sender` interface and its
  registry; one adapter per protocol: :mod:`~acme.dicomnet.dimse` (C-STORE/C-ECHO SCU) and
  :mod:`~acme.dicomnet.stow` (DICOMweb STOW-RS).
- :mod:`~acme.dicomnet.outputs`: the objects sent back: the report's SR and a key object
  (Secondary Capture of the key image, or the PDF as Encapsulated PDF).
- :mod:`~acme.dicomnet.results`: a report version's stored SR, PDF and key image.
- :mod:`~acme.dicomnet.deliveries`: each delivery of a report version to a destination, in
  PostgreSQL.
"""
