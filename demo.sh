#!/usr/bin/env bash
# Set up (Dovecot, .venv) and run mailgate end to end on loopback servers.
set -euo pipefail
cd "$(dirname "$0")"
.ci/setup
exec .venv/bin/python -m tests.sandbox.demo "$@"
