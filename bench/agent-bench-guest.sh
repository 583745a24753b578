#!/bin/sh
# Guest-side launcher of bench-agent.py (started by the test guest's /init as spirit.agent):
# links every virtio-serial port by name (the guest has no udev; /init links only spirit.0),
# starts Debian's qemu-guest-agent once on org.qemu.guest_agent.0, then becomes spirit-agent.
for f in /sys/class/virtio-ports/*/name; do
	[ -r "$f" ] || continue
	dev=${f%/name}
	ln -sf "/dev/${dev##*/}" "/dev/virtio-ports/$(cat "$f")"
done
if [ ! -e /run/qga.started ] && [ -e /dev/virtio-ports/org.qemu.guest_agent.0 ]; then
	: >/run/qga.started
	mkdir -p /run/qga
	qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -t /run/qga \
		-f /run/qga/pid </dev/null >/dev/null 2>&1 &
fi
exec spirit-agent
