/* spirit-proxy-errors.h: the errors of running a line that only running can find, worded once
 * for spiritctl and the HUD (docs/proxy-syntax.md, "Errors").
 *
 *   @windows: the VM Windows-Spirit is shut off: start it with '@windows --start'
 *   @linux: no Spirit agent answers in Linux-Spirit (is spirit-agent installed and running?)
 */
#pragma once

#include "spirit-command-line.h"

G_BEGIN_DECLS

/* state: the VM's State property ("shutoff", "paused", …). SPIRIT_ERROR_INVALID_STATE, or
 * SPIRIT_ERROR_UNAVAILABLE for "unavailable" (its libvirt host is not connected). */
GError *spirit_proxy_error_vm_not_running (const SpiritTarget *target, const char *state);

/* detail (may be NULL): what the attempt to reach the agent said. SPIRIT_ERROR_UNAVAILABLE. */
GError *spirit_proxy_error_no_agent (const SpiritTarget *target, const char *detail);

G_END_DECLS
