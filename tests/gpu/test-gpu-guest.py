#!/usr/bin/python3
"""libspirit_gpu on a real Linux kernel: a QEMU (TCG) q35 guest with an IOMMU and a two-function
"GPU" (bochs-display at function 0, ich9-intel-hda at function 1, behind one PCIe root port, so
both share one IOMMU group) runs spirit-gpu-swap-test, and this file asserts on what it prints on
the serial console.

The guest is booted once (setUpClass); each test method checks one case's line.
bench/bench-gpu-swap.py reuses build_guest() and run_guest() for the benchmark.
Environment: SPIRIT_GPU_SWAP_TEST (the test program), SPIRIT_GPU_GUEST_DIR (where the guest is
built, cached), SPIRIT_GPU_GUEST_TIMEOUT (seconds for the whole boot and run, default 150).
"""

import os
import re
import selectors
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BUILD_GUEST = os.path.join(TOP, "tests", "guest", "build-guest.sh")
GUEST_INIT = os.path.join(HERE, "guest-init")
MODULES = ["vfio-pci", "bochs", "snd-hda-intel"]
GPU = "0000:01:00.0"
AUDIO = "0000:01:00.1"


def build_guest(outdir, binary, extra_adds=()):
    cmd = [BUILD_GUEST, outdir, "--init", GUEST_INIT, "--add", binary]
    for extra in extra_adds:
        cmd += ["--add", extra]
    for module in MODULES:
        cmd += ["--module", module]
    subprocess.run(cmd, check=True, stdout=sys.stderr)


def qemu_command(outdir, gpu_args, extra_append=""):
    # no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check through the
    # interrupt-remapping IOMMU can miss its window and panic ("timer doesn't work through
    # Interrupt-remapped IO-APIC"); the check proves nothing about the swap.
    append = "console=ttyS0 intel_iommu=on no_timer_check panic=-1 quiet"
    if gpu_args:
        append += " spirit.gpu-args=" + ",".join(gpu_args)
    if extra_append:
        append += " " + extra_append
    return [
        "qemu-system-x86_64", "-accel", "tcg",
        "-machine", "q35,kernel-irqchip=split", "-m", "512", "-smp", "1",
        "-nodefaults", "-display", "none", "-no-reboot", "-monitor", "none",
        "-device", "intel-iommu,intremap=on",
        "-device", "pcie-root-port,id=rp1,chassis=1,slot=1,bus=pcie.0",
        "-device", "bochs-display,bus=rp1,addr=00.0,multifunction=on",
        "-device", "ich9-intel-hda,bus=rp1,addr=00.1",
        "-kernel", os.path.join(outdir, "vmlinuz"),
        "-initrd", os.path.join(outdir, "initramfs.cpio.gz"),
        "-append", append,
        "-serial", "stdio",
    ]


def run_guest(outdir, gpu_args, timeout, log_path, extra_append=""):
    """Boots the guest, returns (console lines, seconds). Ends QEMU (our child) at the deadline."""
    start = time.monotonic()
    deadline = start + timeout
    proc = subprocess.Popen(qemu_command(outdir, gpu_args, extra_append), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines, pending = [], b""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    with open(log_path, "w") as log:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                proc.kill()
                proc.wait()
                raise AssertionError("guest did not finish within %d s; console so far:\n%s"
                                     % (timeout, "\n".join(lines[-40:])))
            if not sel.select(remaining):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                line = raw.decode("utf-8", "replace").rstrip("\r")
                lines.append(line)
                log.write(line + "\n")
                log.flush()
    sel.close()
    proc.stdout.close()
    if pending:
        lines.append(pending.decode("utf-8", "replace"))
    proc.wait(timeout=max(1, deadline - time.monotonic()))
    return lines, time.monotonic() - start


def guest_dir():
    return os.environ.get("SPIRIT_GPU_GUEST_DIR") or os.path.join(os.getcwd(), "gpu-guest")


class RealKernelSwapTest(unittest.TestCase):
    console = []

    @classmethod
    def setUpClass(cls):
        binary = os.environ.get("SPIRIT_GPU_SWAP_TEST")
        if not binary or not os.access(binary, os.X_OK):
            raise AssertionError("SPIRIT_GPU_SWAP_TEST must name the built spirit-gpu-swap-test")
        outdir = guest_dir()
        build_guest(outdir, binary)
        timeout = int(os.environ.get("SPIRIT_GPU_GUEST_TIMEOUT", "150"))
        log_path = os.path.join(outdir, "console.log")
        cls.console, seconds = run_guest(outdir, ["--expect-gpu", GPU], timeout, log_path)
        sys.stderr.write("guest ran in %.1f s; console in %s\n" % (seconds, log_path))
        for line in cls.console:
            if line.startswith(("SPIRIT-", "[")):
                sys.stderr.write("  " + line + "\n")

    def lines(self, prefix):
        return [line for line in self.console if line.startswith(prefix)]

    def case(self, name):
        found = [line for line in self.lines("SPIRIT-GPU-CASE ") if line.split()[1] == name]
        self.assertEqual(len(found), 1, "no single line for case %s" % name)
        fields = found[0].split(" ", 3)
        self.assertEqual(fields[2], "PASS", found[0])
        return fields[3] if len(fields) > 3 else ""

    def info(self, key, value):
        for line in self.lines("SPIRIT-GPU-INFO "):
            if (" %s=%s" % (key, value)) in line:
                return line
        self.fail("no SPIRIT-GPU-INFO line with %s=%s" % (key, value))

    def test_00_guest_ran(self):
        self.assertTrue(self.lines("SPIRIT-GPU-GUEST-READY "), "the guest did not reach its test")
        self.assertEqual(self.lines("SPIRIT-WARN"), [])
        exits = self.lines("SPIRIT-GPU-EXIT ")
        self.assertEqual(len(exits), 1, "the test program did not exit")
        results = self.lines("SPIRIT-GPU-RESULT ")
        self.assertEqual(len(results), 1)
        self.assertTrue(results[0].startswith("SPIRIT-GPU-RESULT PASS "), results[0])
        self.assertEqual(exits[0].split()[1], "0")

    def test_01_discovery(self):
        self.case("discovery")
        line = self.info("gpu", GPU)
        group = re.search(r" group=(\d+) ", line).group(1)
        self.assertIn(" functions=%s,%s " % (GPU, AUDIO), line)
        self.assertIn(" drivers=%s=bochs-drm,%s=snd_hda_intel " % (GPU, AUDIO), line)
        self.assertIn(" id=1234:1111 ", line)
        self.assertIn("/dev/dri/card0", line)
        self.assertIn("/dev/snd/controlC0", line)
        self.assertNotEqual(group, "")

    def test_02_to_vfio(self):
        self.case("to-vfio")
        line = self.info("state", "vfio")
        self.assertIn(" drivers=%s=vfio-pci,%s=vfio-pci " % (GPU, AUDIO), line)
        group = re.search(r" group=(\d+) ", self.info("gpu", GPU)).group(1)
        self.assertIn(" vfio_node=/dev/vfio/%s char_device=1 " % group, line)

    def test_03_to_host(self):
        self.case("to-host")
        line = self.info("state", "host")
        self.assertIn(" drivers=%s=bochs-drm,%s=snd_hda_intel " % (GPU, AUDIO), line)
        self.assertIn("/dev/dri/card", line)
        self.assertIn("/dev/snd/controlC", line)

    def test_04_monitor(self):
        self.case("monitor")

    def test_05_holders(self):
        detail = self.case("holders-refused")
        self.assertRegex(detail, r"in use by cat \(pid \d+\) on /dev/dri/card0")
        self.case("holders-forced")
        self.case("holders-back")

    def test_06_forward_faults(self):
        for name, step in [("fault-check", "check"), ("fault-vtconsoles", "vtconsoles"),
                           ("fault-override", "driver_override"), ("fault-unbind", "unbind"),
                           ("fault-probe", "probe"), ("fault-probe-timeout", "probe")]:
            with self.subTest(name):
                detail = self.case(name)
                self.assertRegex(detail, r"ms: %s[ :]" % re.escape(step))

    def test_07_reverse_faults(self):
        for name in ["fault-clear-override", "fault-unbind-vfio", "fault-probe-host"]:
            with self.subTest(name):
                self.case(name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
