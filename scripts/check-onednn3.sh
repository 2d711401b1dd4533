#!/usr/bin/env bash
# Builds the native addon against oneDNN 3 and runs the native kernel tests on it. Debian 12 ships
# oneDNN 2.6, so without this the oneDNN 3 branches of libs/native/binding/compat.h (Ubuntu 24.04,
# Debian 13) would never be compiled. Debian 13's libdnnl-dev is unpacked, not installed: its
# library needs glibc 2.38 and libstdc++ 14, so the tests run under Debian 13's own dynamic loader
# with its libc, libstdc++ and libgomp, each test file in its own process (node:test's isolation
# would start children without that loader).
# Needs: curl, xz, dpkg-deb, g++, and `npm ci` done. Cannot reach the Debian mirror: warns, exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! curl -fsS --max-time 120 "$mirror/dists/trixie/main/binary-amd64/Packages.xz" | xz -d >"$work/Packages"; then
  echo "warning: $mirror is out of reach: the oneDNN 3 build is not checked"
  exit 0
fi
field() { awk -v p="$1" -v f="$2" '$0 == "Package: " p { on = 1 } on && index($0, f ": ") == 1 { print substr($0, length(f) + 3); exit }' "$work/Packages"; }
runtime=$(field libdnnl-dev Depends | sed -E 's/ .*//')
for package in libdnnl-dev "$runtime" libc6 libstdc++6 libgcc-s1 libgomp1; do
  file=$(field "$package" Filename)
  [ -n "$file" ] || { echo "error: $package is not in Debian 13's package index"; exit 1; }
  curl -fsS --max-time 300 -o "$work/package.deb" "$mirror/$file"
  dpkg-deb -x "$work/package.deb" "$work/root"
done
lib="$work/root/usr/lib/x86_64-linux-gnu"
version=$(awk '/define DNNL_VERSION_(MAJOR|MINOR|PATCH)/ { v = v (v ? "." : "") $3 } END { print v }' \
  "$work/root/usr/include/oneapi/dnnl/dnnl_version.h")
echo "oneDNN $version (Debian 13's libdnnl-dev, unpacked in $work)"

printf '#!/bin/sh\nexec g++ -I%s "$@" -L%s\n' "$work/root/usr/include" "$lib" >"$work/g++"
chmod +x "$work/g++"
CXX="$work/g++" node libs/native/scripts/build.mjs --require --verbose --out "$work/build"
readelf -d "$work/build/tomoprior_native.node" | grep -q "libdnnl.so.3" ||
  { echo "error: the addon did not link against oneDNN 3"; exit 1; }

under3() {
  TOMOPRIOR_NATIVE_ADDON="$work/build/tomoprior_native.node" \
    "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$(command -v node)" --import tsx "$@"
}
loaded=$(under3 -e 'import("@tomoprior/native").then((m) => console.log(m.loadNative().addon?.about().onednn))')
[ "$loaded" = "$version" ] || { echo "error: the tests would load oneDNN '$loaded', not $version"; exit 1; }

# Every native kernel test, against the tfjs cpu backend or float64 references, except the one that
# starts a child process (it would run without Debian 13's loader): network.test.ts by name.
failed=0
for test in libs/native/src/addon.test.ts libs/compute/src/native/*.test.ts; do
  only=()
  [ "$(basename "$test")" = network.test.ts ] && only=(--test-name-pattern='whole-network gradients|seeded native run')
  log="$work/test.log"
  status=0
  under3 "${only[@]}" "$test" >"$log" 2>&1 || status=$?
  grep -q "^# pass [1-9]" "$log" && grep -q "^# fail 0" "$log" && [ "$status" = 0 ] ||
    { failed=1; echo "FAILED on oneDNN $version: $test"; grep -A20 "^not ok" "$log" | head -60; }
  echo "$(grep -E "^# (pass|fail) " "$log" | tr '\n' ' ') $test"
done
exit $failed
