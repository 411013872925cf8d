"""infer-cxr's cold start in one process (run by ``acme bench coldstart``): each phase's time.

``python -m acme.coldstart FOLDER MODEL CARD DICOM`` imports infer-cxr's handler module (from
FOLDER) and what scoring needs, loads the model into a Predictor, scores one film from its
DICOM bytes, and prints ``[began, imported, loaded, finished, cpu seconds]`` as JSON. The same
module runs as a new interpreter and forked by the prefork (acme.runtime.prefork).
"""

import time  # isort: skip

began = time.time()  # before anything else: the start of the "imports" phase

import importlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402


def main(folder: str, model: str, card_path: str, dicom: str) -> list[float]:
    sys.path.insert(0, folder)
    importlib.import_module("main")  # infer-cxr's handler module, and what it imports

    from acme.imaging import display_frames, read_dataset, to_model_input
    from acme.models import ModelCard, Predictor, RegisteredModel, series_findings

    imported = time.time()
    with open(card_path, "rb") as card_file, open(model, "rb") as model_file:
        card = ModelCard.from_json(card_file.read())
        predictor = Predictor.load(RegisteredModel(card, model_file.read()), device="cpu")
    loaded = time.time()
    prep = card.preprocessing
    channels, height, width = predictor.input_shape
    with open(dicom, "rb") as film:
        frames = display_frames(read_dataset(film.read()), voi=prep.voi)
    tensor = to_model_input(frames[0].pixels, prep, channels=channels, height=height, width=width)
    series_findings(card, predictor.predict(tensor[None]))
    return [began, imported, loaded, time.time(), time.process_time()]


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5])), flush=True)
