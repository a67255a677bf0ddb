#!/usr/bin/env bash
# The Debian packages the tests need beside what pip installs: as root, installs the missing
# ones; otherwise names them in one line and fails. `make test` runs it first.
#   make, python3-venv   what runs the rest (.ci/run checks these itself, before make)
#   dovecot-imapd        the IMAP tests start a private Dovecot
#   openssl              the TLS tests make their certificates
#   postgresql           the server binaries of tests/pg_cluster.py (not with PG_URL set)
#   chromium             the real-browser tests (Playwright drives Debian's chromium, no download)
set -euo pipefail

need=()
command -v make >/dev/null || need+=(make)
# Debian keeps ensurepip, which `python3 -m venv` needs, in python3-venv
"${PY:-python3}" -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)
[ -x /usr/lib/dovecot/imap ] || command -v dovecot >/dev/null || need+=(dovecot-imapd)
command -v openssl >/dev/null || need+=(openssl)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ -z "${PG_URL:-}" ] && [ -z "${PG_BIN:-}" ] && ! command -v initdb >/dev/null \
    && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  need+=(postgresql)
fi

[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "make test needs these Debian packages: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
echo "installing the Debian packages the tests need: ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
