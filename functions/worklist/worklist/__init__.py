"""worklist: the clinicians' worklist and study views, DICOMweb, and the change feed."""
