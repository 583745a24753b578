/* spirit-agent-session.h: the agent's protocol state for one host connection.
 *
 * A session starts with the host's hello and ends when the host disconnects, says hello again,
 * or sends a frame that breaks the framing. Ending a session kills every job it started: their
 * output has nowhere to go. Between sessions the decoder hunts for the next hello.
 */
#pragma once

#include "spirit-agent-port.h"
#include "spirit-protocol.h"

G_BEGIN_DECLS

typedef struct _SpiritAgentSession SpiritAgentSession;

SpiritAgentSession *spirit_agent_session_new (SpiritAgentPort *port, const SpiritLimits *limits);
void spirit_agent_session_free (SpiritAgentSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritAgentSession, spirit_agent_session_free)

/* Wired to the port's callbacks by main(). */
void spirit_agent_session_connected (SpiritAgentSession *session);
void spirit_agent_session_disconnected (SpiritAgentSession *session);
void spirit_agent_session_data (SpiritAgentSession *session, const guint8 *data, gsize len);
void spirit_agent_session_drained (SpiritAgentSession *session);

guint spirit_agent_session_get_job_count (SpiritAgentSession *session);

G_END_DECLS
