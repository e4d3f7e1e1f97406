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

# Another apt or dpkg (unattended upgrades, a second set-up) holds the dpkg and apt-lists
# locks for a while: wait for it, this long at most. apt-get waits for the dpkg lock itself
# (DPkg::Lock::Timeout) but not for the lists lock of `apt-get update`, hence the loop.
apt_wait=${SL3VPN_APT_WAIT:-300}
apt_get() {
    local deadline=$((SECONDS + apt_wait)) said="" out
    while true; do
        if out=$(apt-get -o DPkg::Lock::Timeout="$apt_wait" "$@" 2>&1); then
            return 0
        fi
        if ! grep -q "Could not get lock" <<<"$out"; then
            echo "$out" >&2
            echo "setup: 'apt-get $*' failed (its output is above)" >&2
            return 1
        fi
        if [ $SECONDS -ge $deadline ]; then
            echo "setup: another apt or dpkg still holds its lock after ${apt_wait} s;" \
                 "run this again once it has finished (SL3VPN_APT_WAIT sets the wait)" >&2
            return 1
        fi
        if [ -z "$said" ]; then
            echo "setup: another apt or dpkg is running: waiting for it (at most ${apt_wait} s)"
            said=1
        fi
        sleep 2
    done
}

missing=()
for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "setup: installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt_get update -qq
        apt_get install -y -qq --no-install-recommends "${missing[@]}"
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
# A stamp per install kind, newer than pyproject.toml when that install is current. The
# dev install is a superset of the plain one: after `make test`, `make demo` has nothing
# to install.
fresh() { [ -f "$1" ] && [ ! pyproject.toml -nt "$1" ]; }
if [ "$mode" = "--dev" ]; then
    extra="[dev]" stamp=.venv/.installeddev
    fresh "$stamp" && current=1 || current=""
else
    extra="" stamp=.venv/.installed
    fresh "$stamp" || fresh .venv/.installeddev && current=1 || current=""
fi
if [ -z "$current" ]; then
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
