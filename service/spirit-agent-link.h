/* spirit-agent-link.h: spiritd's connection to the spirit-agent of one running VM.
 *
 * Connects to the host end of the VM's spirit.0 channel (a unix socket that libvirt created),
 * says hello with a fresh session nonce until the agent answers (1 s, 2 s, … 5 s apart), pings it
 * when the line is quiet to notice an agent that died, and reconnects when the socket closes (the
 * VM restarted). Everything runs in the main loop, without threads. The codec is
 * libspirit_protocol (docs/agent-protocol.md), the same as the agent's.
 *
 * What the guest sends is bounded: one decoder frame (1 MiB), at most SPIRIT_AGENT_LINK_MAX_JOBS
 * jobs, and each job's output by the window it gave the agent (spirit-exec-job.h). A fatal
 * framing error or a silent agent ends the session: every job fails, and the link starts over.
 */
#pragma once

#include <gio/gio.h>

#include "spirit-message.h"

G_BEGIN_DECLS

#define SPIRIT_AGENT_LINK_MAX_JOBS 64

typedef struct _SpiritExecJob SpiritExecJob;

#define SPIRIT_TYPE_AGENT_LINK (spirit_agent_link_get_type ())
G_DECLARE_FINAL_TYPE (SpiritAgentLink, spirit_agent_link, SPIRIT, AGENT_LINK, GObject)

SpiritAgentLink *spirit_agent_link_new (const char *vm_name);

/* The socket to connect to; NULL disconnects and stays idle. Setting the same path again keeps
 * the current connection. */
void spirit_agent_link_set_socket (SpiritAgentLink *self, const char *path);
const char *spirit_agent_link_get_socket (SpiritAgentLink *self);

/* TRUE while a session is up (the agent answered our hello). notify::ready follows it. */
gboolean spirit_agent_link_is_ready (SpiritAgentLink *self);
/* Microseconds since the VM's channel appeared (the VM started), G_MAXINT64 without one. */
gint64 spirit_agent_link_get_channel_age (SpiritAgentLink *self);
/* The agent's hello of the current session, or NULL. */
const SpiritMessage *spirit_agent_link_get_hello (SpiritAgentLink *self);

/* Queues a frame for the agent (only while ready; dropped otherwise). */
void spirit_agent_link_send_frame (SpiritAgentLink *self, GBytes *frame);
void spirit_agent_link_send_message (SpiritAgentLink *self, const SpiritMessage *msg);

/* Gives the job an id in the current session and routes that id's messages to it. */
gboolean
spirit_agent_link_add_job (SpiritAgentLink *self, SpiritExecJob *job, guint32 *id, GError **error);
void spirit_agent_link_remove_job (SpiritAgentLink *self, guint32 id);
guint spirit_agent_link_count_jobs (SpiritAgentLink *self);

/* For tests: a directory where spiritd --session looks for VM_NAME.sock instead of asking
 * libvirt (set from $SPIRIT_TEST_AGENT_SOCKET_DIR by spirit-daemon.c, only with --session). */
void spirit_agent_link_set_test_socket_dir (const char *dir);
const char *spirit_agent_link_get_test_socket_dir (void);

G_END_DECLS
