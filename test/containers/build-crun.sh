#!/bin/sh
# Build Debian's crun (bookworm source) with checkpoint/restore support linked
# against OUR libcriu, into build/crun/ (the system crun is left alone).
#
#   test/containers/build-crun.sh [BUILDDIR]     (as root, Debian 12)
#
# BUILDDIR is our meson build dir (default: build).  Result: BUILDDIR/crun/crun.
# Run it with LD_LIBRARY_PATH=BUILDDIR/lib/c (crun dlopens libcriu.so.2) and
# our criu first in PATH (libcriu runs "criu swrk").
#
# apt: the deb-src list lives in private state dirs under BUILDDIR/crun/apt, so
# the system's package lists (/var/lib/apt/lists) are not replaced.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
out=$build/crun
apt=$out/apt
src=$out/src
deps="libyajl-dev libseccomp-dev libcap-dev libsystemd-dev gperf pkg-config make gcc
      libprotobuf-c-dev dpkg-dev"

[ -e "$build/lib/c/libcriu.so.2" ] || { echo "build-crun: no $build/lib/c/libcriu.so.2;" \
	"run ninja -C $build first" >&2; exit 1; }
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$src" "$out/include/criu" \
	"$out/pkgconfig"

# 1. build dependencies, with the system's normal apt state
missing=
for p in $deps; do
	dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "build-crun: installing$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi

# 2. crun's source, through a private deb-src list and private state dirs
cat > "$apt/src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
o="-o Dir::Etc::sourcelist=$apt/src.sources -o Dir::Etc::sourceparts=-
   -o Dir::State::Lists=$apt/lists -o Dir::Cache=$apt/cache -o APT::Sandbox::User=root"
if ! ls "$src"/crun_*.dsc >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	apt-get $o update
	# shellcheck disable=SC2086
	(cd "$src" && apt-get $o source --download-only crun)
fi
dsc=$(ls "$src"/crun_*.dsc | tail -1)
tree=$src/tree
if [ ! -x "$tree/configure" ]; then
	rm -rf "$tree"
	dpkg-source -x "$dsc" "$tree"	# applies Debian's patches
fi

# 3. pkg-config "criu" pointing at our build (crun includes <criu/criu.h>)
ln -sf "$top/lib/c/criu.h" "$out/include/criu/criu.h"
ln -sf "$build/lib/c/rpc.pb-c.h" "$out/include/criu/rpc.pb-c.h"
ver=$(sed -n 's/^Version: //p' "$build/meson-uninstalled/criu-uninstalled.pc")
cat > "$out/pkgconfig/criu.pc" <<EOF
Name: criu
Description: criu-cr's libcriu, uninstalled build
Version: $ver
Requires.private: libprotobuf-c
Libs: -L$build/lib/c -lcriu
Cflags: -I$out/include -I$out/include/criu
EOF

# 4. configure and build out of tree; man page and tests are not needed
cd "$tree"
if [ ! -e "$tree/Makefile" ]; then
	PKG_CONFIG_PATH=$out/pkgconfig ./configure --disable-dependency-tracking \
		--enable-criu > "$out/configure.log" 2>&1 ||
		{ tail -20 "$out/configure.log" >&2; exit 1; }
fi
grep -q '^#define HAVE_CRIU 1' config.h ||
	{ echo "build-crun: configure did not find criu (see $out/configure.log)" >&2; exit 1; }
make -j"$(nproc)" > "$out/make.log" 2>&1 || { tail -20 "$out/make.log" >&2; exit 1; }
cp crun "$out/crun.new"
mv "$out/crun.new" "$out/crun"
"$out/crun" --version | grep -q '+CRIU' ||
	{ echo "build-crun: built crun lacks +CRIU" >&2; exit 1; }
echo "build-crun: $out/crun"
