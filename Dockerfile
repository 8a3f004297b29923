# syntax=docker/dockerfile:1
#
# ClassQuiz server image.
#
#   docker build -t classquiz .
#   docker run --rm -p 8000:8000 -e SECRET_KEY=... -e DATABASE_URL=... -e REDIS_URL=... classquiz
#
# Dependencies come from Pipfile.lock only (exact versions, every file checked
# against its hash); the dev packages (pytest, ruff, ...) are left out. The web app
# is built from web/package-lock.json in a Node stage; the runtime image gets only
# its static files (no Node).
# See docs/operations.md for the settings and the docker-compose.yml deployment.

ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:20-bookworm-slim

# --- stage 1: build the web app (web/ → web/build); Node stays in this stage ----
FROM ${NODE_IMAGE} AS web

WORKDIR /src
# The same script as scripts/run and CI: `npm ci` from the lock, then the build.
COPY scripts/build-web ./scripts/build-web
COPY web/ ./web/
RUN scripts/build-web

# --- stage 2: resolve the lock file into a virtualenv --------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIPENV_VERBOSITY=-1 \
    PIPENV_NOSPIN=1

# pipenv only turns the lock into a requirements file; it does not reach the final image.
# Same pinned version as scripts/bootstrap.
RUN pip install "pipenv==2026.10.3"

WORKDIR /src
COPY Pipfile Pipfile.lock ./

# `pipenv requirements` emits the [packages] section of the lock (not [dev-packages])
# with hashes; --require-hashes makes pip refuse anything that does not match.
RUN pipenv requirements --hash > requirements.txt \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --no-deps -r requirements.txt

# --- stage 3: runtime --------------------------------------------------------
FROM ${PYTHON_IMAGE}

LABEL org.opencontainers.image.title="ClassQuiz server" \
      org.opencontainers.image.description="Self-hostable live quiz and voting server"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/var/lib/classquiz

# An unprivileged user; it owns nothing but the data directory (used only by the
# zero-configuration start with its embedded PostgreSQL/Redis, which also refuse
# to run as root).
RUN groupadd --system --gid 10001 classquiz \
 && useradd --system --uid 10001 --gid classquiz --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin classquiz \
 && mkdir -p /var/lib/classquiz \
 && chown classquiz:classquiz /var/lib/classquiz

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
COPY classquiz/ ./classquiz/
RUN python -m compileall -q classquiz
# The built web app (static files only), where the server looks by default (web/build).
COPY --from=web /src/web/build ./web/build

USER classquiz:classquiz
EXPOSE 8000

# Liveness only (/healthz); /readyz also checks Redis and PostgreSQL.
# No curl in the slim image, so the standard library does the request.
HEALTHCHECK --interval=15s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

# `serve` applies pending database migrations before it starts listening.
CMD ["python", "-m", "classquiz", "serve", "--host", "0.0.0.0", "--port", "8000"]
