#!/usr/bin/env bash
# The README's "test" command, and exactly what CI runs (.ci/run calls this).
#
# Installs what is missing, starts the system services the tests use (a system D-Bus, virtlogd,
# libvirtd: no systemd needed), builds with -Werror and ASan+UBSan, and runs the whole suite:
# unit tests, integration tests on libvirt's test driver, real polkitd, real libvirtd with QEMU
# guests. Any failure or skip fails the run. Run as root on Debian 12.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${SPIRIT_TEST_BUILD_DIR:-$top/build-test}"

if [ "$(id -u)" != 0 ]; then
  echo "tools/test.sh: run as root (the tests start libvirtd, polkitd and QEMU guests)" >&2
  exit 2
fi

bash "$top/tools/install-deps.sh"
# The unprivileged caller of the polkit tests.
id spirit-test >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin spirit-test
bash "$top/tests/libvirt/ensure-libvirtd.sh"

if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" "$top" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
else
  meson setup "$build" "$top" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$build"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

status=0
meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || status=$?

# A closing line every CI reader understands, and no silent skips.
/usr/bin/python3 - "$build/meson-logs/testlog.json" <<'PY' || status=1
import json, sys
results = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
count = lambda *names: sum(1 for r in results if r["result"] in names)
passed, failed = count("OK", "EXPECTEDFAIL"), count("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS")
skipped = count("SKIP")
for r in results:
    if r["result"] == "SKIP":
        print("skipped (not allowed): %s" % r["name"])
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
sys.exit(1 if failed or skipped or not results else 0)
PY
exit $status
