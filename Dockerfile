# Runtime image for one distributed-sqlite node.
#
# The jar is built outside the image (`mvn -B -q package -DskipTests`), so an image
# build only copies one file and takes seconds. Build:
#   docker build -t distributed-sqlite .                       # public JRE base
#   docker build --build-arg BASE_IMAGE=dsqlite-base:bookworm-jre17 \
#                -t distributed-sqlite:test .                  # local base (.ci/docker-setup)
# The base must provide `java` (17+) on PATH and /bin/sh; curl is installed if missing.
ARG BASE_IMAGE=eclipse-temurin:17-jre
FROM ${BASE_IMAGE}

# A fixed non-root uid/gid, matching runAsUser/fsGroup in kubernetes/statefulset.yaml.
ARG APP_UID=10001
RUN set -eu; \
    if ! command -v curl >/dev/null 2>&1; then \
      apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*; \
    fi; \
    if command -v useradd >/dev/null 2>&1; then \
      groupadd --system --gid "${APP_UID}" dsqlite; \
      useradd --system --uid "${APP_UID}" --gid "${APP_UID}" --home-dir /data --no-create-home \
              --shell /usr/sbin/nologin dsqlite; \
    else \
      echo "dsqlite:x:${APP_UID}:${APP_UID}::/data:/usr/sbin/nologin" >> /etc/passwd; \
      echo "dsqlite:x:${APP_UID}:" >> /etc/group; \
    fi; \
    mkdir -p /app /data; \
    chown "${APP_UID}:${APP_UID}" /data; \
    chmod 0750 /data

COPY target/distributed-sqlite.jar /app/distributed-sqlite.jar
COPY src/main/docker/entrypoint.sh /app/entrypoint.sh
COPY src/main/docker/healthcheck.sh /app/healthcheck.sh

# DATA_DIR is the volume, so a pod that mounts /data (as the original's StatefulSet does) needs
# no DATA_DIR. MALLOC_ARENA_MAX: glibc keeps one malloc arena per thread otherwise (SQLite
# allocates from every reader thread), which costs resident memory a 128 MiB pod does not have.
ENV HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data \
    MALLOC_ARENA_MAX=2
VOLUME ["/data"]
WORKDIR /data
EXPOSE 8080
USER ${APP_UID}:${APP_UID}

# GET /health over HTTP, or HTTPS when TLS_CERT_FILE is set (see the script).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["/app/healthcheck.sh"]

# The entrypoint sizes heap, collector and JIT from the container's memory limit (see the
# script) and execs the JVM, which so is PID 1 and receives SIGTERM directly (graceful
# shutdown). An OutOfMemoryError ends the process so the orchestrator restarts it instead of
# leaving a half-working node. Extra or overriding JVM flags: JAVA_OPTS.
ENTRYPOINT ["/app/entrypoint.sh"]
