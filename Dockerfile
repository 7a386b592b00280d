# newswatch production image.
#   docker build --pull=never -t newswatch:latest .      (or: docker-compose build)
# Two stages: the builder installs the locked dependencies into a virtual environment; the final
# stage copies only that environment and the default configuration onto a clean slim image, so
# no compiler, pip cache or build tool reaches production.

FROM python:3.11-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv

# A C compiler for the rule engine's two small extensions (rules/_fastfold.c,
# rules/_wordscan.c); it stays in this stage. The official python images ship Python's
# headers; a base without them (such as Debian's own python3) gets python3-dev.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && if [ ! -f "$(python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ]; then \
      apt-get install -y --no-install-recommends python3-dev; fi \
 && rm -rf /var/lib/apt/lists/*

# Dependencies first, from the hash-locked file alone: this layer is rebuilt only when the lock
# changes, not on every code edit. Wheels only: a package that would need compiling fails here.
COPY requirements/runtime.lock /tmp/runtime.lock
RUN /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r /tmp/runtime.lock

# Then the application itself (no dependencies: they are all installed from the lock above).
WORKDIR /src
COPY pyproject.toml README.md ./
COPY core ./core
COPY rules ./rules
COPY stories ./stories
COPY watchers ./watchers
COPY storage ./storage
COPY bot ./bot
# pip and setuptools are build tools: the running bot needs neither.
# The import check fails the build if the extensions were skipped (they are optional for pip);
# -I keeps /src (the sources, without the built modules) off the import path.
RUN /opt/venv/bin/pip install --no-deps . \
 && /opt/venv/bin/python -I -c "import rules._fastfold, rules._wordscan" \
 && /opt/venv/bin/pip uninstall -y -q setuptools pip

FROM python:3.11-slim-bookworm

# Non-root user with a fixed id, so host folders can be given to it (chown 10001).
RUN groupadd --gid 10001 newswatch \
 && useradd --uid 10001 --gid newswatch --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin newswatch \
 && mkdir -p /app /data \
 && chown newswatch:newswatch /data

COPY --from=builder /opt/venv /opt/venv
# Default feeds and rules; docker-compose.yml bind-mounts ./config over this folder.
COPY config /app/config

# Defaults for a container: SQLite on the /data volume unless DATABASE_URL names PostgreSQL;
# health endpoint on all interfaces inside the container (publish it to 127.0.0.1 on the host).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite:////data/newswatch.db \
    NEWSWATCH_CONFIG_DIR=/app/config \
    NEWSWATCH_CACHE_DIR=/data/cache \
    NEWSWATCH_HEALTH_ADDR=0.0.0.0:8080

WORKDIR /app
USER newswatch
VOLUME ["/data"]
EXPOSE 8080

# slim images have no curl: the probe is a few lines of python's urllib (bot/ops/health_probe.py).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-m", "bot.ops.health_probe"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["newswatch"]
CMD ["run"]
