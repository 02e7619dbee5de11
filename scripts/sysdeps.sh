#!/bin/sh
# Install the Debian packages geoplan needs when any of the files in $NEED is missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -eu
missing=""
for f in $NEED; do [ -e "$f" ] || missing="$missing $f"; done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "installing Debian packages: $PKGS (missing:$missing)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
else
  echo "error: missing:$missing" >&2
  echo "install the system packages with:  sudo apt-get install -y $PKGS" >&2
  exit 1
fi
