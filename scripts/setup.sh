#!/usr/bin/env bash
# Prepares this checkout on a fresh Debian/Ubuntu machine: Debian packages (when
# run as root), the project virtualenv (.venv) and the separate virtualenv for
# p4runtime-shell, whose protobuf pin conflicts with ours.
#   scripts/setup.sh          what the product and the lab need
#   scripts/setup.sh --dev    plus test tools and the real peers used by interop tests
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}
runtime_debs=(iproute2 iputils-ping tshark tcpdump nftables libnanomsg5)
dev_debs=(gobgpd bird2 frr exabgp strongswan-charon strongswan-swanctl
          libcharon-extra-plugins libstrongswan-standard-plugins libnanomsg-dev)
debs=("${runtime_debs[@]}")
[ "$mode" = "--dev" ] && debs+=("${dev_debs[@]}")

missing=()
for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "setup: installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: not root, so these Debian packages cannot be installed: ${missing[*]}" >&2
        echo "setup: run 'sudo apt-get install ${missing[*]}' or this script as root;" >&2
        echo "setup: tests that need them will be skipped, naming what is missing." >&2
    fi
fi

py=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$py" -m venv .venv
fi
extra=""
[ "$mode" = "--dev" ] && extra="[dev]"
stamp=.venv/.installed$(echo "$extra" | tr -d '[]')
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing Python packages into .venv"
    .venv/bin/python -m pip install -q --upgrade pip 2>/dev/null
    .venv/bin/python -m pip install -q -e ".$extra"
    touch "$stamp"
fi
# p4runtime-shell pins protobuf 3.x, which conflicts with ours: its own venv (interop tests).
if [ "$mode" = "--dev" ] && [ ! -f .venv-p4rtsh/.installed ]; then
    echo "setup: creating .venv-p4rtsh (p4runtime-shell)"
    "$py" -m venv .venv-p4rtsh
    .venv-p4rtsh/bin/python -m pip install -q "p4runtime-shell>=0.0.6"
    touch .venv-p4rtsh/.installed
fi
echo "setup: ready ($mode)"
