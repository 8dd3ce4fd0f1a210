# syntax=docker/dockerfile:1
# minicrm's production image; docs/deployment.md runs it with docker-compose.prod.yml.
#
# build:   the runtime dependencies from pyproject.toml in /opt/venv (pip's cache in a BuildKit
#          cache mount, so rebuilds download nothing new), the code, and collectstatic.
# runtime: slim Python with only /opt/venv and /app, as a non-root user, gunicorn behind
#          scripts/docker-entrypoint.sh (waits for the database, migrates, then serves).
# No apt packages: psycopg[binary] bundles libpq, the entrypoint waits for PostgreSQL in Python,
# and backups run pg_dump from the PostgreSQL image (scripts/backup.sh).

# The Python the test suite runs on; change both together.
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim-trixie AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

# A venv without its own pip: the base image's pip installs into it (--python), so the image
# carries no second copy of pip and setuptools.
RUN python -m venv --without-pip /opt/venv

WORKDIR /app

# Dependencies before the code, so a code change reuses this layer. Only [project.dependencies]:
# the dev extra (embedded PostgreSQL, pytest, linters) never reaches the image.
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=bind,source=pyproject.toml,target=/tmp/pyproject.toml \
    python -c "import tomllib; deps = tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']; print(*deps, sep='\n')" > /tmp/requirements.txt \
    && pip --python /opt/venv/bin/python install -r /tmp/requirements.txt

COPY . .

# Settings refuse to load in production without SECRET_KEY and ALLOWED_HOSTS; these throwaway
# values exist only in this build step (collectstatic needs neither a key nor a database).
# The manifest of hashed names it writes is what production's static storage serves from.
RUN MINICRM_ENV=production SECRET_KEY=collectstatic-only-not-a-secret ALLOWED_HOSTS=localhost \
    STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput \
    && python -m compileall -q /app


FROM python:${PYTHON_VERSION}-slim-trixie AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    MINICRM_ENV=production \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/var/lib/minicrm/media \
    PORT=8000 \
    WEB_CONCURRENCY=2 \
    GUNICORN_THREADS=4 \
    GUNICORN_KEEPALIVE=75 \
    GUNICORN_TIMEOUT=30

# A fixed uid/gid: files in the media volume keep the same owner across rebuilds. The media
# directory exists in the image owned by that user, so a new named volume mounted on it starts
# out writable (Docker copies the directory's owner into an empty volume).
RUN groupadd --system --gid 10001 minicrm \
    && useradd --system --uid 10001 --gid minicrm --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin minicrm \
    && install -d -o minicrm -g minicrm -m 0750 /var/lib/minicrm/media

COPY --from=build /opt/venv /opt/venv
# Code and static files stay owned by root: the app can read them, not rewrite them.
COPY --from=build /app /app

WORKDIR /app
USER 10001:10001
EXPOSE 8000

# Python's urllib, since slim images have no curl; the entrypoint's probe sends a Host header
# from ALLOWED_HOSTS so Django does not answer 400.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/app/scripts/docker-entrypoint.sh", "healthcheck"]

ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
CMD ["web"]
