#!/usr/bin/python3
"""spiritctl exec through spiritd vs virsh qemu-agent-command guest-exec, as a user types them.

A benchmark, not a test (bench/run-exec.sh runs it; the suite never does). bench-agent.py
compares the two guest agents from inside one process; this compares what a person at a
terminal gets, every call a process of its own, in one TCG guest that spiritd started (so it
added the spirit.0 channel) with Debian's qemu-ga on org.qemu.guest_agent.0 beside spirit-agent:

  round trip   `spiritctl exec VM -- true` (client → spiritd → spirit-agent and back) against
               `virsh qemu-agent-command VM guest-exec` and then `guest-exec-status` until it
               exited, each a virsh process (the only way to run a command and learn its
               status with qemu-ga). Also each client's floor with no guest work: `spiritctl vm
               info VM` and `virsh qemu-agent-command VM guest-ping`.
  throughput   `spiritctl exec VM -- dd if=FILE bs=64k` into /dev/null (64 MiB), against
               guest-exec of `cat` on 2 MiB through virsh (libvirt stops agent replies at
               10 MiB, i.e. ~7.5 MiB of base64-encoded output).

--spiritd picks the spiritd binary, so that two builds can be compared on the same machine.
"""

import argparse
import base64
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MiB = 1024 * 1024
QGA_CHANNEL = ("    <channel type='unix'>\n      <source mode='bind'/>\n"
               "      <target type='virtio' name='org.qemu.guest_agent.0'/>\n    </channel>\n")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(REPO, "build-agent"),
                        help="a plain (not sanitized) build: spiritctl and spirit-agent")
    parser.add_argument("--spiritd", help="the spiritd binary (default: BUILD/service/spiritd)")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args()


ARGS = parse_args()
os.environ["SPIRITD"] = ARGS.spiritd or os.path.join(ARGS.build, "service", "spiritd")
os.environ["SPIRITCTL"] = os.path.join(ARGS.build, "cli", "spiritctl")
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import realguest  # noqa: E402
from realguest import GUEST, GuestFiles, virsh  # noqa: E402
from spirittest import SPIRITCTL, Gio, SpiritDaemon, wait_until  # noqa: E402


class Clients:
    def __init__(self, address, name):
        self.env = dict(os.environ, SPIRIT_BUS_ADDRESS=address)
        self.name = name

    def spiritctl(self, *args, stdout=subprocess.PIPE, check=True):
        result = subprocess.run([SPIRITCTL] + list(args), stdout=stdout, stderr=subprocess.PIPE,
                                env=self.env, timeout=600)
        if check and result.returncode != 0:
            raise RuntimeError("spiritctl %s: %s" % (" ".join(args), result.stderr.decode()))
        return result

    def qga(self, execute, arguments=None, check=True):
        msg = {"execute": execute}
        if arguments is not None:
            msg["arguments"] = arguments
        result = subprocess.run(["virsh", "-c", realguest.URI, "qemu-agent-command", self.name,
                                 json.dumps(msg)], capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            if check:
                raise RuntimeError("virsh %s: %s" % (execute, result.stderr.strip()))
            return None
        return json.loads(result.stdout)["return"]

    def qga_run(self, path, args=(), capture=False):
        pid = self.qga("guest-exec", {"path": path, "arg": list(args), "capture-output": capture})["pid"]
        while True:
            status = self.qga("guest-exec-status", {"pid": pid})
            if status["exited"]:
                return status


def timed(func, n):
    times = []
    for _ in range(n):
        t = time.monotonic()
        func()
        times.append(time.monotonic() - t)
    return times


def main():
    for tool in ("virsh",):
        if shutil.which(tool) is None:
            sys.exit("bench-exec: %s is missing (tools/install-deps.sh)" % tool)
    realguest.ensure_libvirtd()
    agent = os.path.join(ARGS.build, "agent", "spirit-agent")
    test_dbus = Gio.TestDBus.new(Gio.TestDBusFlags.NONE)
    test_dbus.up()
    name = "spirit-execbench-%d" % os.getpid()
    files = GuestFiles([agent, "/usr/sbin/qemu-ga"])
    console = os.path.join(files.dir, name + ".console")
    daemon = None
    try:
        xml = subprocess.run(
            [os.path.join(GUEST, "make-domain.sh"), name, files.dir, "--console", console,
             "--memory", "512", "--cmdline", "spirit.agent=/usr/bin/spirit-agent spirit.qga=1"],
            check=True, capture_output=True, text=True, timeout=60).stdout
        path = os.path.join(files.dir, name + ".xml")
        with open(path, "w") as f:
            f.write(xml.replace("  </devices>", QGA_CHANNEL + "  </devices>", 1))
        virsh("define", path)
        daemon = SpiritDaemon(test_dbus.get_bus_address(), realguest.URI, ["--no-polkit"])
        clients = Clients(test_dbus.get_bus_address(), name)
        wait_until(lambda: clients.spiritctl("vm", "info", name, check=False).returncode == 0, 60,
                   "spiritd to list the VM", poll=0.2)
        clients.spiritctl("vm", "start", name)
        wait_until(lambda: os.path.exists(console) and re.search(
            r"SPIRIT-GUEST-READY", open(console, errors="replace").read()), 180, "the guest to boot",
            poll=0.2)
        wait_until(lambda: "none answering" not in clients.spiritctl("vm", "info", name).stdout.decode(),
                   120, "spirit-agent to answer", poll=0.2)
        wait_until(lambda: clients.qga("guest-ping", check=False) is not None, 120, "qemu-ga to answer",
                   poll=0.2)
        print("guest up; both agents answer", file=sys.stderr)

        for _ in range(5):  # warm-up: page cache, first-boot activity
            clients.spiritctl("exec", name, "--", "true")
            clients.qga_run("true")
        spirit_rt, qga_rt, spirit_floor, qga_floor = [], [], [], []
        for _ in range(ARGS.iterations):
            spirit_rt += timed(lambda: clients.spiritctl("exec", name, "--", "true"), 1)
            qga_rt += timed(lambda: clients.qga_run("true"), 1)
            spirit_floor += timed(lambda: clients.spiritctl("vm", "info", name), 1)
            qga_floor += timed(lambda: clients.qga("guest-ping"), 1)

        clients.spiritctl("exec", name, "--", "sh", "-c",
                          "head -c %d /dev/urandom >/tmp/big && head -c %d /tmp/big >/tmp/q2"
                          % (64 * MiB, 2 * MiB))
        spirit_tp, qga_tp = [], []
        for _ in range(ARGS.repeat):
            with open(os.devnull, "wb") as null:
                t = time.monotonic()
                clients.spiritctl("exec", name, "--", "dd", "if=/tmp/big", "bs=65536", stdout=null)
                spirit_tp.append(64 / (time.monotonic() - t))
            t = time.monotonic()
            status = clients.qga_run("cat", ["/tmp/q2"], capture=True)
            qga_tp.append(2 / (time.monotonic() - t))
            assert len(base64.b64decode(status["out-data"])) == 2 * MiB
    finally:
        if daemon is not None:
            daemon.stop()
        virsh("destroy", name, check=False)
        virsh("undefine", name, "--managed-save", "--snapshots-metadata", check=False)
        if not ARGS.keep:
            files.cleanup()
        test_dbus.down()

    ms = lambda seconds: "%.1f ms" % (seconds * 1000)  # noqa: E731
    med = statistics.median
    print("\n%-58s %16s %16s" % ("", "spiritctl", "virsh (qemu-ga)"))
    print("%-58s %16s %16s" % ("round trip of `true` (median of %d)" % ARGS.iterations,
                               ms(med(spirit_rt)), ms(med(qga_rt))))
    print("%-58s %16s %16s" % ("  the client alone: `vm info` / guest-ping (median)",
                               ms(med(spirit_floor)), ms(med(qga_floor))))
    print("%-58s %16s %16s" % ("throughput, MiB/s (64 MiB / 2 MiB), best of %d" % ARGS.repeat,
                               "%.1f" % max(spirit_tp), "%.1f" % max(qga_tp)))
    print("%-58s %16s %16s" % ("  every run", " ".join("%.0f" % x for x in spirit_tp),
                               " ".join("%.1f" % x for x in qga_tp)))
    print("\nround trip: spiritctl exec is %.1fx faster than guest-exec through virsh"
          % (med(qga_rt) / med(spirit_rt)))
    print("throughput: %.0fx (and guest-exec cannot return 64 MiB at all)"
          % (max(spirit_tp) / max(qga_tp)))


if __name__ == "__main__":
    main()
