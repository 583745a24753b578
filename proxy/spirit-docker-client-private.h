/* spirit-docker-client-private.h: what the exec stream code shares with the client. */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "spirit-docker-client.h"

G_BEGIN_DECLS

/* The session for exec streams: no I/O timeout (a command may be silent for an hour). */
SoupSession *spirit_docker_client_get_stream_session (SpiritDockerClient *self);

/* A request to the engine; path is already escaped ("/exec/ab12/start"). */
SoupMessage *spirit_docker_client_new_message (SpiritDockerClient *self,
                                               const char *method,
                                               const char *path,
                                               JsonNode *body);

/* A transport error (no socket, refused, reset) as SPIRIT_ERROR_UNAVAILABLE or FAILED. */
GError *spirit_docker_client_transport_error (SpiritDockerClient *self, const GError *error);

/* A non-2xx answer as a SPIRIT_ERROR, with the engine's own message from body (may be NULL). */
GError *spirit_docker_client_api_error (SpiritDockerClient *self,
                                        SoupMessage *msg,
                                        GBytes *body,
                                        const char *doing);

G_END_DECLS
