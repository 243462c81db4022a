#!/bin/sh
# The image's HEALTHCHECK: GET /health on the node's own port, over HTTPS when the node serves TLS
# (TLS_CERT_FILE set), else HTTP. The certificate names the node's DNS names, not 127.0.0.1, so
# the check does not verify it (-k): it asks whether this process answers, over loopback.
set -eu
if [ -n "${TLS_CERT_FILE:-}" ]; then
  url="https://127.0.0.1:${PORT:-8080}/health"
else
  url="http://127.0.0.1:${PORT:-8080}/health"
fi
exec curl -fsS -k --max-time 2 -o /dev/null "$url"
