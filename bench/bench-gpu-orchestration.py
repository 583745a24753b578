#!/usr/bin/python3
"""bench-gpu-orchestration.py: the GPU swap through spiritd (Passthrough + Reclaim over D-Bus),
against the 2 s + 2 s of fixed sleeps in the common single-GPU passthrough scripts.

It runs the setup of tests/integration/test_gpu.py: spiritd on a private bus over libvirt's test
driver, the fake sysfs tree with its fake kernel (fake-gpu-kernel), python-dbusmock's logind and
systemd. Each round is Passthrough("beta") then Reclaim(force) and times, from the client:
  - the whole call, reply to reply;
  - the orchestration alone: the call minus the HUD unit's stop/start job and the VM's start/stop
    (from the Progress signals: stop-hud → check, start-vm → reply; stop-vm → remove-hostdevs,
    start-hud → reply), which the issue excludes (they belong to systemd and the VM).
Usage: bench/bench-gpu-orchestration.py [--rounds N] [--build DIR]
DIR is a meson build directory with service/spiritd and tests/gpu/fake-gpu-kernel (default
build-bench; a non-sanitized build measures the code, not ASan).
"""

import argparse
import os
import statistics
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--build", default=os.path.join(TOP, "build-bench"))
    args = parser.parse_args()
    os.environ["SPIRIT_BUILD_DIR"] = os.path.abspath(args.build)
    for binary in ("service/spiritd", "tests/gpu/fake-gpu-kernel"):
        if not os.access(os.path.join(args.build, binary), os.X_OK):
            sys.exit("no %s/%s: meson setup %s && ninja -C %s service/spiritd tests/gpu/fake-gpu-kernel"
                     % (args.build, binary, args.build, args.build))
    sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
    import test_gpu  # noqa: E402 (needs SPIRIT_BUILD_DIR first)
    from gi.repository import GLib, Gio  # noqa: E402

    results = {"pass_total": [], "pass_orch": [], "back_total": [], "back_orch": []}
    steps = {}  # (direction, step) → [ms from its Progress to the next one, or to the reply]

    def record_steps(direction, stamps, end):
        ordered = sorted(stamps.items(), key=lambda item: item[1]) + [("reply", end)]
        for (name, t), (_, t_next) in zip(ordered, ordered[1:]):
            steps.setdefault((direction, name), []).append((t_next - t) * 1000)

    class Bench(test_gpu.GpuTestCase):
        def timed(self, method, args):
            stamps = {}
            sub = self.bus.signal_subscribe(
                "org.crom.Spirit", test_gpu.GPU_IFACE, "Progress", None, None, Gio.DBusSignalFlags.NONE,
                lambda c, s, p, i, n, params: stamps.setdefault(params.unpack()[0], time.monotonic()))
            done = []
            start = time.monotonic()
            self.bus.call(
                "org.crom.Spirit", test_gpu.GPU_PATH, test_gpu.GPU_IFACE, method, args, None,
                Gio.DBusCallFlags.NONE, 60000, None,
                lambda bus, res: done.append((time.monotonic(), bus.call_finish(res))))
            test_gpu.wait_until(lambda: done, timeout=60, what=method)
            self.bus.signal_unsubscribe(sub)
            return start, done[0][0], stamps

        def test_bench(self):
            for _ in range(args.rounds):
                start, end, s = self.timed("Passthrough", GLib.Variant("(sb)", ("beta", False)))
                total = end - start
                results["pass_total"].append(total * 1000)
                results["pass_orch"].append((total - (s["check"] - s["stop-hud"]) - (end - s["start-vm"])) * 1000)
                record_steps("passthrough", s, end)
                self.assert_in_vm("beta")
                start, end, s = self.timed("Reclaim", GLib.Variant("(b)", (True,)))
                total = end - start
                results["back_total"].append(total * 1000)
                results["back_orch"].append((total - (s["remove-hostdevs"] - s["stop-vm"]) - (end - s["start-hud"])) * 1000)
                record_steps("reclaim", s, end)
                self.assert_on_host()

    result = unittest.TextTestRunner(verbosity=1).run(unittest.TestSuite([Bench("test_bench")]))
    if not result.wasSuccessful():
        sys.exit(1)

    def row(name, values):
        print("| %-44s | %8.1f | %8.1f | %8.1f |" % (name, statistics.median(values), min(values), max(values)))

    print("\n%d rounds; ms per call, from the client\n" % args.rounds)
    print("| %-44s | %8s | %8s | %8s |" % ("", "median", "best", "worst"))
    print("|%s|%s|%s|%s|" % ("-" * 46, "-" * 10, "-" * 10, "-" * 10))
    row("Passthrough, whole call", results["pass_total"])
    row("Passthrough, orchestration (no unit, no VM)", results["pass_orch"])
    row("Reclaim, whole call", results["back_total"])
    row("Reclaim, orchestration (no unit, no VM)", results["back_orch"])
    both = [a + b for a, b in zip(results["pass_orch"], results["back_orch"])]
    row("both ways, orchestration", both)
    print("| %-44s | %8.1f | %8s | %8s |" % ("common scripts: sleep 2 + sleep 2", 4000.0, "", ""))
    print("\nmedian ms per step (from its Progress signal to the next one)\n")
    for (direction, name), values in steps.items():
        print("  %-12s %-20s %7.1f" % (direction, name, statistics.median(values)))


if __name__ == "__main__":
    main()
