"""Fixtures for report: report content on a real chest film (no servers), and a pipeline of
real contexts (dicom-ingest, infer-cxr, report) on the test servers."""

from __future__ import annotations

import copy
import importlib.util
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from cloudevents.http import CloudEvent
from dicom_ingest.ingest import ingest_object
from jetstream import published
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from report import codes
from report.content import ModelUse, ReportContent, ReportedSeries, SourceImage, Study
from report.view import ReportImages

from acme.events import EventType, Finding, Tick, new_event
from acme.function import Context
from acme.imaging import display_frames, encode_png, heatmap_overlay, resample
from acme.models import register_bundled
from acme.patients import Patient
from acme.samples import MIN_CT_SLICES, SampleManifest, write_samples
from acme.settings import Settings
from acme.storage import ensure_buckets, make_s3_client

REPO = Path(__file__).resolve().parents[3]
REAL_FILM = "RG1_UNCR.dcm"  # a real PA chest film, CR, MONOCHROME1

MakeContent = Callable[..., ReportContent]


@pytest.fixture(scope="session")
def film() -> Dataset:
    """The real chest film, pixels included."""
    return dcmread(get_testdata_file(REAL_FILM, download=False))


@pytest.fixture(scope="session")
def film_header(film: Dataset) -> Dataset:
    header = copy.deepcopy(film)  # a shallow copy would lose the film's pixels too
    del header.PixelData
    return header


@pytest.fixture
def make_content(film: Dataset) -> MakeContent:
    """Report content about the real film: Lung Opacity positive, Pleural Effusion negative."""
    run_id = uuid.UUID("0b7a4c3e-2f1d-4d8e-9a6b-5c4d3e2f1a0b")
    image = SourceImage(
        series_uid=film.SeriesInstanceUID, sop_uid=film.SOPInstanceUID,
        sop_class_uid=film.SOPClassUID, modality=film.Modality,
    )  # fmt: skip

    def finding(label: str, probability: float) -> Finding:
        return Finding(
            label=label, code=codes.finding_code(label).coding(), probability=probability,
            threshold=0.5, positive=probability >= 0.5, sop_uid=image.sop_uid,
            heatmap_key="heat/lung-opacity.png" if probability >= 0.5 else None,
        )  # fmt: skip

    scored = ReportedSeries(
        series_uid=image.series_uid, modality=image.modality, pipeline="cxr",
        outcome="completed", run_id=run_id, model="cxr-synthetic", model_version="1.0.0",
        findings=(finding("Lung Opacity", 0.91), finding("Pleural Effusion", 0.08)),
    )  # fmt: skip

    def make(**overrides: object) -> ReportContent:
        values: dict[str, object] = {
            "report_id": uuid.UUID("6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b"),
            "version": 1,
            "status": "preliminary",
            "issued": datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC),
            "patient": Patient(
                patient_id=str(film.PatientID), issuer="ACME-HOSP", name="Müller^Anna^Maria",
                birth_date=date(1961, 2, 3), sex="F",
            ),
            "study": Study(
                study_uid=film.StudyInstanceUID, accession_number="ACC-1",
                study_date=date(2024, 5, 6), study_time=time(7, 0), description="Chest PA",
            ),
            "pipelines": ("cxr",),
            "models": (
                ModelUse(name="cxr-synthetic", version="1.0.0", diagnostic_use=False,
                         intended_use="Demonstration only. NOT FOR DIAGNOSTIC USE."),
            ),
            "run_ids": (run_id,),
            "series": (scored,),
            "source_images": (image,),
            "key_image_key": "reports/key.png",
            "impression": "AI suggests: Lung Opacity (91.0 %)",
        }  # fmt: skip
        values.update(overrides)
        return ReportContent.model_validate(values)

    return make


@pytest.fixture(scope="session")
def images(film: Dataset) -> ReportImages:
    """The film as a key image, and a heatmap over it."""
    pixels = display_frames(film)[0].pixels
    small = resample(pixels, 384, round(384 * pixels.shape[1] / pixels.shape[0]))
    heat = np.zeros_like(small)
    heat[150:250, 80:200] = 1.0
    return ReportImages(
        key_image=encode_png(np.rint(small * 255).astype(np.uint8)),
        heatmaps={"Lung Opacity": encode_png(heatmap_overlay(small, heat))},
    )


@pytest.fixture(scope="session")
def cxr_samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SampleManifest]:
    folder = tmp_path_factory.mktemp("report-samples")
    return folder, write_samples(folder, ct_slices=MIN_CT_SLICES)


OpenContext = Callable[..., Context]
ROUTING = """
stable_age_seconds: {default: 0.001}
default_pipeline: none
rules:
  - name: chest-radiograph
    pipeline: cxr
    when:
      - {tag: Modality, op: in, value: [CR, DX]}
"""


@pytest.fixture
def open_context(settings: Settings, tmp_path: Path) -> Iterator[OpenContext]:
    """Open a function's context on the test servers (buckets made, models registered, every
    series stable at once and CR/DX routed to cxr)."""
    opened: list[Context] = []
    ensure_buckets(make_s3_client(settings), settings.buckets.all())
    routing = tmp_path / "routing.yml"
    routing.write_text(ROUTING)
    configured = settings.model_copy(
        update={"models_dir": REPO / "models", "cxr_heatmap_grid": 3, "routing_file": routing}
    )

    def open_one(name: str, **overrides: object) -> Context:
        context = Context.open(name, configured.model_copy(update=overrides))
        opened.append(context)
        if not opened[:-1]:
            register_bundled(context.store, context.settings)
        return context

    yield open_one
    for context in opened:
        context.close()


@pytest.fixture(scope="session")
def main() -> Callable[[str], ModuleType]:
    """``main(function)``: functions/<function>/main.py, imported once per session."""
    loaded: dict[str, ModuleType] = {}

    def load(function: str) -> ModuleType:
        if function not in loaded:
            path = REPO / "functions" / function / "main.py"
            name = f"{function.replace('-', '_')}_main"
            spec = importlib.util.spec_from_file_location(name, path)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            loaded[function] = module
        return loaded[function]

    return load


def only(ctx: Context, event_type: str) -> CloudEvent:
    [event] = published(ctx.settings, event_type)
    return event


Score = Callable[..., tuple[Context, CloudEvent]]


@pytest.fixture
def score(
    open_context: OpenContext,
    cxr_samples: tuple[Path, SampleManifest],
    main: Callable[[str], ModuleType],
) -> Score:
    """``score(path, **infer_settings)``: drop a sample, tick, score it, each function's
    handler fed what the previous one published; the report context and the inference event.
    """

    def run(path: str, **infer: object) -> tuple[Context, CloudEvent]:
        folder, _ = cxr_samples
        ingest = open_context("dicom-ingest")
        scorer = open_context("infer-cxr", **infer)
        report = open_context("report-events")
        key = f"modality/{Path(path).name}"
        ingest.store.put(ingest.settings.buckets.inbox, key, (folder / path).read_bytes())
        assert ingest_object(ingest, ingest.settings.buckets.inbox, key, None) == "stored"
        tick = new_event(EventType.TICK, Tick(at=datetime.now(UTC), sequence=1), source="/t")
        main("dicom-ingest").handler.handle(ingest, tick)
        main("infer-cxr").handler.handle(scorer, only(scorer, EventType.SERIES_COMPLETED))
        events = published(scorer.settings)
        outcome = [e for e in events if e["type"].startswith("org.acme.imaging.inference.")]
        assert len(outcome) == 1, [e["type"] for e in events]
        return report, outcome[0]

    return run


@dataclass(frozen=True)
class Drafted:
    ctx: Context
    inferred: CloudEvent
    report_id: uuid.UUID

    @property
    def study_uid(self) -> str:
        return str(self.inferred.data["study_uid"])


@pytest.fixture
def drafted(score: Score, main: Callable[[str], ModuleType]) -> Drafted:
    """The radiograph with an opacity, scored and reported (report v1, preliminary)."""
    ctx, inferred = score("good/cxr/opacity-cr-rle.dcm")
    main("report").handler.handle(ctx, inferred)
    report_id = uuid.UUID(only(ctx, EventType.REPORT_DRAFTED).data["report_id"])
    return Drafted(ctx, inferred, report_id)
