# altcraft-mock as a service container. Built by your CI (`docker build -t altcraft-mock .`);
# `make image-test` builds and runs it (tests/image), and tests/e2e/test_dockerfile.py
# runs this file's commands in a fresh virtualenv where no Docker engine is available.
# BASE_IMAGE: any Python 3.11+ image with `python` and `pip` on PATH (make
# image-test passes a stand-in built from Debian's packages when no registry answers).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ALTCRAFT_MOCK_HOST=0.0.0.0 \
    ALTCRAFT_MOCK_PORT=8080 \
    ALTCRAFT_MOCK_DB=/data/store.json

RUN useradd --create-home --uid 10001 mock && mkdir -p /data && chown mock /data

# The package from the build context (a plain install: schemas/ and fixtures/ ship inside).
# hatch_build.py compiles the import core with mypyc when the base image has a C
# compiler (python:3.11 has one, python:3.11-slim has not: pure Python, same answers).
COPY pyproject.toml hatch_build.py README.md /src/
COPY mockserver /src/mockserver
COPY schemas /src/schemas
COPY fixtures /src/fixtures
RUN pip install --no-cache-dir /src && rm -rf /src

# Build-time smoke test: the console script and the package import.
RUN python -m mockserver --help

USER mock
VOLUME ["/data"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=5 \
    CMD ["python", "-m", "mockserver", "healthcheck"]
CMD ["python", "-m", "mockserver", "serve"]
