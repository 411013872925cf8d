# syntax=docker/dockerfile:1
# Every image of the platform, on one shared base. Build one with its stage name, which is
# the last part of its image name in stack.yml:
#
#   docker build --target infer-cxr -t ghcr.io/acme-imaging/infer-cxr:0.1.0 .
#   docker build --target platform  -t ghcr.io/acme-imaging/platform:0.1.0 .
#
# "platform" runs the router, the tick source, the bucket-events adapter and the bootstrap
# Job; each function stage adds its folder to "function", whose entry command is
# acme-function (functions-framework's app in one waitress process, acme/runtime/serve.py). tests/acme/render/test_dockerfile.py checks the stages against stack.yml.

FROM python:3.11-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ACME_HOME=/tmp/acme
RUN useradd --system --uid 10001 --no-create-home --home-dir /nonexistent acme
WORKDIR /srv/acme
COPY pyproject.toml README.md ./
COPY acme/ acme/
RUN pip install . && rm -rf acme build

FROM base AS platform
COPY stack.yml ./
COPY models/ models/
ENV ACME_STACK_FILE=/srv/acme/stack.yml \
    ACME_MODELS_DIR=/srv/acme/models
USER 10001
CMD ["acme", "--help"]

FROM base AS function
WORKDIR /srv/function
USER 10001
EXPOSE 8080
# listens on PORT (Knative sets it; 8080 otherwise) on every address of the container
ENTRYPOINT ["acme-function", "--source", "/srv/function/main.py"]

FROM function AS dicom-ingest
COPY functions/dicom-ingest/ /srv/function/
CMD ["--target", "handler", "--signature-type", "cloudevent"]

FROM function AS infer-cxr
COPY functions/infer-cxr/ /srv/function/
CMD ["--target", "handler", "--signature-type", "cloudevent"]

# report (target api) and report-events (target handler) share this image; the Knative
# Service of each passes its own --target and --signature-type.
FROM function AS report
COPY functions/report/ /srv/function/
CMD ["--target", "api", "--signature-type", "http"]

FROM function AS audit
COPY functions/audit/ /srv/function/
CMD ["--target", "api", "--signature-type", "http"]

FROM function AS dispatch
COPY functions/dispatch/ /srv/function/
CMD ["--target", "handler", "--signature-type", "cloudevent"]

FROM function AS infer-ct
COPY functions/infer-ct/ /srv/function/
CMD ["--target", "handler", "--signature-type", "cloudevent"]

FROM function AS worklist
COPY functions/worklist/ /srv/function/
CMD ["--target", "api", "--signature-type", "http"]
