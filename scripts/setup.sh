#!/bin/sh
# Install what the build and the tests need (Debian 12), then build.
# Usage: scripts/setup.sh   (as root; safe to run again)
set -eu
cd "$(dirname "$0")/.."

PKGS="build-essential clang libclang-rt-14-dev meson ninja-build pkg-config python3 \
	protobuf-c-compiler libprotobuf-c-dev libnl-3-dev libnl-route-3-dev \
	libnftables-dev nftables iptables \
	criu util-linux procps binutils iproute2 login \
	ruby nodejs default-jdk-headless tmux sqlite3 bsdutils bash \
	redis-server memcached nginx-light postgresql \
	runc crun podman busybox-static"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# the servers' packages start a daemon of their own on install unless
	# policy-rc.d says no: test/servers/run.py starts its own
	policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		trap 'rm -f "$policy"' EXIT
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
	fi
	apt-get install -y -qq $missing >/dev/null
	if [ -n "$policy" ]; then
		rm -f "$policy"
		trap - EXIT
	fi
fi

if [ ! -f build/build.ninja ]; then
	meson setup build >/dev/null
fi
ninja -C build >/dev/null
echo "setup: built build/criu/criu"
