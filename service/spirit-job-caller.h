/* spirit-job-caller.h: the D-Bus side of one guest command (Proxy.Exec), whatever runs it.
 *
 * Both backends (spirit-exec-job.c over spirit-agent, spirit-qga-job.c over qemu-guest-agent)
 * keep one: who asked (bus and sender), the job's object path, the Exec call until it is
 * answered, and the status that JobExited carries at the end. A caller that got an error from
 * Exec, or that left the bus, is "abandoned": it gets no JobExited.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  GDBusConnection *bus;
  char *sender;
  char *path;
  char *vm_name;
  GDBusMethodInvocation *invocation; /* the Exec call, until it is answered */
  GVariantDict *status;              /* what JobExited will carry, once known */
  gboolean abandoned;                /* no JobExited for this caller */
} SpiritJobCaller;

/* Takes the invocation (answered later by reply_path, fail or clear). */
void spirit_job_caller_init (SpiritJobCaller *caller,
                             GDBusMethodInvocation *invocation,
                             const char *path,
                             const char *vm_name);
/* An Exec call still pending is answered with AgentUnavailable ("abandoned"). */
void spirit_job_caller_clear (SpiritJobCaller *caller);
/* Answers Exec with the job's path. */
void spirit_job_caller_reply_path (SpiritJobCaller *caller);
/* A fresh status for JobExited (the previous one is dropped); owned by the caller struct. */
GVariantDict *spirit_job_caller_new_status (SpiritJobCaller *caller);
/* Exec still pending: it gets ERROR and the job is abandoned. Otherwise the status becomes the
 * error (its message and D-Bus error name) for JobExited. */
void spirit_job_caller_fail (SpiritJobCaller *caller, const GError *error);
/* Sends JobExited, with "backend" added, to the caller, unless it is abandoned or never got
 * the job's path or there is no status. */
void spirit_job_caller_report (SpiritJobCaller *caller, const char *backend);

G_END_DECLS
