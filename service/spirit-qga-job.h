/* spirit-qga-job.h: one command run through qemu-guest-agent, the fallback of Proxy.Exec.
 *
 * qemu-ga's design, not ours: guest-exec with capture-output through libvirt
 * (virDomainQemuAgentCommand, on the host's worker threads: it blocks), then guest-exec-status
 * polled with a back-off (10 ms doubling to 500 ms) until the command exited; its output comes
 * only then, base64 in the reply, and is written to the caller's fds. Bounds: stdin is read to
 * its end before the command starts and may be at most SPIRIT_QGA_MAX_STDIN bytes (it travels
 * base64 inside one libvirt call); the output is what qemu-ga keeps (16 MiB per stream, flagged
 * stdout-truncated / stderr-truncated beyond) and what libvirt passes (its RPC refuses agent
 * replies of more than a few MiB: that is a JobExited error). No timeout and no Cancel: qemu-ga
 * 7.2 cannot signal a guest-exec process.
 */
#pragma once

#include <gio/gio.h>

#include "spirit-exec-job.h"
#include "spirit-job-caller.h"
#include "spirit-vm.h"

G_BEGIN_DECLS

#define SPIRIT_QGA_MAX_STDIN (1024 * 1024)

typedef struct _SpiritQgaJob SpiritQgaJob;
typedef void (*SpiritQgaJobDone) (SpiritQgaJob *job, gpointer user_data);

/* fds are taken; the invocation is answered with the job path at once (stdin is read after
 * the reply, guest-exec after stdin's end): failures to start come as JobExited errors. */
SpiritQgaJob *spirit_qga_job_start (SpiritVm *vm,
                                    const char *path,
                                    GDBusMethodInvocation *invocation,
                                    const SpiritExecRequest *request,
                                    int stdin_fd,
                                    int stdout_fd,
                                    int stderr_fd,
                                    SpiritQgaJobDone done,
                                    gpointer user_data);
void spirit_qga_job_free (SpiritQgaJob *job);
/* Who asked, the job's path, and what JobExited will carry. */
const SpiritJobCaller *spirit_qga_job_get_caller (SpiritQgaJob *job);
/* The caller left: no signal, its output is dropped. */
void spirit_qga_job_abandon (SpiritQgaJob *job);

G_END_DECLS
