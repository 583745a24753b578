#!/bin/sh
# gpu-common-swap.sh: the baseline of bench/bench-gpu-swap.py, run inside the GPU test guest.
#
# What the single-GPU passthrough scripts people share do (the spec's gpu-passthrough.sh, and
# the libvirt hook scripts it comes from): release fbcon, sleep 2 s "to be safe", echo the
# addresses into unbind/driver_override/bind; and back: unbind, clear the override, bind the
# host drivers, bind fbcon, sleep 2 s. Nothing is waited for; the sleeps stand in for that.
# Usage: gpu-common-swap.sh SLEEP_SECONDS ROUNDS [GPU AUDIO GPU_DRIVER AUDIO_DRIVER]
# Prints: SPIRIT-GPU-COMMON sleep=S rounds=N to_vfio_ms=X to_host_ms=Y ok=1|0
# (ms per round, from /proc/uptime, whose 10 ms ticks are divided by ROUNDS).
set -u

pause=${1:-2}
rounds=${2:-1}
gpu=${3:-0000:01:00.0}
audio=${4:-0000:01:00.1}
gpu_driver=${5:-bochs-drm}
audio_driver=${6:-snd_hda_intel}

uptime_cs() { # uptime in centiseconds
	read -r up _ </proc/uptime
	echo "${up%.*}${up#*.}"
}

to_vfio() {
	echo 0 >/sys/class/vtconsole/vtcon1/bind
	sleep "$pause"
	echo "$gpu" >"/sys/bus/pci/devices/$gpu/driver/unbind"
	echo "$audio" >"/sys/bus/pci/devices/$audio/driver/unbind"
	echo vfio-pci >"/sys/bus/pci/devices/$gpu/driver_override"
	echo vfio-pci >"/sys/bus/pci/devices/$audio/driver_override"
	echo "$gpu" >/sys/bus/pci/drivers/vfio-pci/bind
	echo "$audio" >/sys/bus/pci/drivers/vfio-pci/bind
}

to_host() {
	echo "$gpu" >/sys/bus/pci/drivers/vfio-pci/unbind
	echo "$audio" >/sys/bus/pci/drivers/vfio-pci/unbind
	echo >"/sys/bus/pci/devices/$gpu/driver_override"
	echo >"/sys/bus/pci/devices/$audio/driver_override"
	echo "$gpu" >"/sys/bus/pci/drivers/$gpu_driver/bind"
	echo "$audio" >"/sys/bus/pci/drivers/$audio_driver/bind"
	echo 1 >/sys/class/vtconsole/vtcon1/bind
	sleep "$pause"
}

driver_of() {
	d=$(readlink "/sys/bus/pci/devices/$1/driver") && echo "${d##*/}"
}

ok=1
vfio_cs=0
host_cs=0
i=0
while [ "$i" -lt "$rounds" ]; do
	i=$((i + 1))
	t0=$(uptime_cs)
	to_vfio
	t1=$(uptime_cs)
	[ "$(driver_of "$gpu")" = vfio-pci ] && [ "$(driver_of "$audio")" = vfio-pci ] || ok=0
	to_host
	t2=$(uptime_cs)
	[ "$(driver_of "$gpu")" = "$gpu_driver" ] && [ "$(driver_of "$audio")" = "$audio_driver" ] || ok=0
	vfio_cs=$((vfio_cs + t1 - t0))
	host_cs=$((host_cs + t2 - t1))
done
# centiseconds per round → milliseconds, one decimal
echo "SPIRIT-GPU-COMMON sleep=$pause rounds=$rounds" \
	"to_vfio_ms=$((vfio_cs * 10 / rounds)).$((vfio_cs * 100 / rounds % 10))" \
	"to_host_ms=$((host_cs * 10 / rounds)).$((host_cs * 100 / rounds % 10)) ok=$ok"
[ "$ok" = 1 ]
