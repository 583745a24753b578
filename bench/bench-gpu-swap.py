#!/usr/bin/python3
"""bench-gpu-swap.py: how long Spirit's sysfs half of the GPU swap takes, on a real kernel, against
the fixed 2 s + 2 s of sleeps in the common single-GPU passthrough scripts.

It boots the GPU test guest of tests/gpu (QEMU TCG, q35, intel-iommu, bochs-display + ich9-intel-hda
in one IOMMU group) once, and in it runs:
  1. spirit-gpu-swap-test --bench N: N rounds of SpiritVfioSwap to_vfio + to_host, each step
     waiting on the kernel's real state (the VM boot is not counted: the clock starts at the call);
  2. bench/gpu-common-swap.sh 0 N: the common scripts' echo sequence without its sleeps (the
     floor of the raw sysfs work, which waits for nothing and checks nothing);
  3. bench/gpu-common-swap.sh 2 1: the same with its two sleeps, as people run it.
Usage: bench/bench-gpu-swap.py [--rounds N] [--build DIR]
DIR is a meson build directory with tests/gpu/spirit-gpu-swap-test (default build-gpu; a
non-sanitized build measures the code, not ASan). Prints the guest's lines and a summary table.
"""

import argparse
import importlib.util
import os
import re
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)


def load_guest_module():
    path = os.path.join(TOP, "tests", "gpu", "test-gpu-guest.py")
    spec = importlib.util.spec_from_file_location("test_gpu_guest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--build", default=os.path.join(TOP, "build-gpu"))
    args = parser.parse_args()

    guest = load_guest_module()
    binary = os.path.join(args.build, "tests", "gpu", "spirit-gpu-swap-test")
    if not os.access(binary, os.X_OK):
        sys.exit("no %s: meson setup %s && ninja -C %s tests/gpu/spirit-gpu-swap-test"
                 % (binary, args.build, args.build))
    outdir = os.path.join(args.build, "tests", "gpu", "bench-guest")
    common = os.path.join(HERE, "gpu-common-swap.sh")
    guest.build_guest(outdir, binary, [common])
    after = "spirit.gpu-after=/usr/bin/gpu-common-swap.sh,0,%d spirit.gpu-after=/usr/bin/gpu-common-swap.sh,2,1" % args.rounds
    lines, seconds = guest.run_guest(outdir, ["--bench", str(args.rounds)], 600,
                                     os.path.join(outdir, "console.log"), after)
    for line in lines:
        if line.startswith("SPIRIT-"):
            print(line)
    print("guest boot and run: %.1f s" % seconds)

    rounds = [line for line in lines if line.startswith("SPIRIT-GPU-BENCH ")]
    to_vfio = [float(re.search(r"to_vfio_ms=([\d.]+)", line).group(1)) for line in rounds]
    to_host = [float(re.search(r"to_host_ms=([\d.]+)", line).group(1)) for line in rounds]
    common_lines = {re.search(r"sleep=(\d+)", line).group(1): line
                    for line in lines if line.startswith("SPIRIT-GPU-COMMON ")}
    if len(rounds) != args.rounds or set(common_lines) != {"0", "2"} \
            or not any(line.startswith("SPIRIT-GPU-RESULT PASS") for line in lines) \
            or any(" ok=0" in line for line in common_lines.values()):
        sys.exit("the benchmark did not complete; see %s" % os.path.join(outdir, "console.log"))

    def common(sleep, key):
        return float(re.search(key + r"=([\d.]+)", common_lines[sleep]).group(1))

    print()
    print("| %-46s | %9s | %9s | %9s |" % ("per swap and back, TCG guest (ms)", "to vfio", "to host", "total"))
    print("|%s|%s|%s|%s|" % ("-" * 48, "-" * 11, "-" * 11, "-" * 11))
    for name, a, b in [
        ("Spirit, median of %d" % len(rounds), statistics.median(to_vfio), statistics.median(to_host)),
        ("Spirit, worst of %d" % len(rounds), max(to_vfio), max(to_host)),
        ("common script without its sleeps (mean of %d)" % args.rounds, common("0", "to_vfio_ms"),
         common("0", "to_host_ms")),
        ("common script as shipped (2 s + 2 s sleeps)", common("2", "to_vfio_ms"), common("2", "to_host_ms")),
    ]:
        print("| %-46s | %9.1f | %9.1f | %9.1f |" % (name, a, b, a + b))
    total = statistics.median(to_vfio) + statistics.median(to_host)
    print()
    print("Spirit's median swap and back: %.0f ms, %.1f%% of the 4000 ms the sleeps alone cost; goal < 200 ms: %s"
          % (total, total / 40.0, "met" if total < 200 else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
