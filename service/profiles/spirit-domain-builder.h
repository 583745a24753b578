/* spirit-domain-builder.h: a VM request plus its profile (and optional CPU pinning) become a
 * libvirt domain, built with libvirt-gconfig; libxml2 adds the elements libvirt-gconfig 4.0 has
 * no API for. The result always has the spirit.0 virtio-serial channel and a virtio memory
 * balloon, and passes libvirt's schema.
 *
 * The builder does not look at the host except for two cheap facts: a disk file's format
 * (qcow2 magic, or raw; block devices are raw) and, for Tpm=auto, whether swtpm is installed.
 * Everything else about the host is spirit_vm_plan()'s job.
 */
#pragma once

#include <libvirt-gconfig/libvirt-gconfig.h>

#include "spirit-cpu-pinning.h"
#include "spirit-profile.h"
#include "spirit-vm-spec.h"

G_BEGIN_DECLS

#define SPIRIT_AGENT_CHANNEL "spirit.0"

GVirConfigDomain *spirit_domain_build (const SpiritVmSpec *spec,
                                       const SpiritProfile *profile,
                                       const SpiritCpuPinning *pinning,
                                       GError **error);
gboolean spirit_domain_build_wants_tpm (const SpiritVmSpec *spec, const SpiritProfile *profile);

G_END_DECLS
