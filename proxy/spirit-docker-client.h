/* spirit-docker-client.h: the Docker Engine API over its unix socket, for @docker commands.
 *
 * libsoup 3 speaks HTTP to the engine (DOCKER_HOST=unix:///… honoured). Everything is
 * asynchronous, cancellable, and used from the thread-default main context the client was made
 * in. The same calls work against Docker and against podman's Docker-compatible service:
 *
 *   exec create   POST /containers/{name}/exec   argv, env, no TTY
 *   exec start    POST /exec/{id}/start          stdout and stderr demultiplexed into two
 *                                                GOutputStreams as they arrive; stdin forwarded
 *   exec inspect  GET  /exec/{id}/json           the exit code
 *
 * argv goes to the engine as a JSON array and the engine execs it directly: no shell in between,
 * so "$(id)" or ";" in an argument stay data. Errors are SPIRIT_ERROR: UNAVAILABLE (no engine at
 * the socket), INVALID_ARGUMENT (no such container: the message lists the existing ones),
 * INVALID_STATE (the container is not running), FAILED (the engine's own message); or
 * G_IO_ERROR_CANCELLED.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  char *id;
  char *name; /* without the engine's leading '/' */
  char *image;
  char *state; /* "running", "exited", "paused", … */
} SpiritDockerContainer;

void spirit_docker_container_free (SpiritDockerContainer *container);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritDockerContainer, spirit_docker_container_free)

#define SPIRIT_TYPE_DOCKER_CLIENT (spirit_docker_client_get_type ())
G_DECLARE_FINAL_TYPE (SpiritDockerClient, spirit_docker_client, SPIRIT, DOCKER_CLIENT, GObject)

/* docker_host: a DOCKER_HOST value ("unix:///run/podman/podman.sock"), or NULL for $DOCKER_HOST
 * and the usual sockets. Fails only on a DOCKER_HOST it cannot use; nothing is connected yet. */
SpiritDockerClient *spirit_docker_client_new (const char *docker_host, GError **error);
const char *spirit_docker_client_get_socket_path (SpiritDockerClient *self);

/* Containers, running ones first, then by name; all: also the stopped ones. */
void spirit_docker_client_list_containers_async (SpiritDockerClient *self,
                                                 gboolean all,
                                                 GCancellable *cancellable,
                                                 GAsyncReadyCallback callback,
                                                 gpointer user_data);
GPtrArray *spirit_docker_client_list_containers_finish (SpiritDockerClient *self,
                                                        GAsyncResult *result,
                                                        GError **error);

/* Returns the exec's id. env: "NAME=value" strings, or NULL. */
void spirit_docker_client_exec_create_async (SpiritDockerClient *self,
                                             const char *container,
                                             const char *const *argv,
                                             const char *const *env,
                                             gboolean attach_stdin,
                                             GCancellable *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer user_data);
char *spirit_docker_client_exec_create_finish (SpiritDockerClient *self,
                                               GAsyncResult *result,
                                               GError **error);

/* Runs the exec and copies its output until it ends. stdin_stream (if the exec was created with
 * attach_stdin) is forwarded and closed towards the process at its end; stdout_stream and
 * stderr_stream may be NULL to drop that output. The streams are flushed, not closed. */
void spirit_docker_client_exec_start_async (SpiritDockerClient *self,
                                            const char *exec_id,
                                            GInputStream *stdin_stream,
                                            GOutputStream *stdout_stream,
                                            GOutputStream *stderr_stream,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer user_data);
gboolean spirit_docker_client_exec_start_finish (SpiritDockerClient *self,
                                                 GAsyncResult *result,
                                                 GError **error);

void spirit_docker_client_exec_inspect_async (SpiritDockerClient *self,
                                              const char *exec_id,
                                              GCancellable *cancellable,
                                              GAsyncReadyCallback callback,
                                              gpointer user_data);
gboolean spirit_docker_client_exec_inspect_finish (SpiritDockerClient *self,
                                                   GAsyncResult *result,
                                                   gboolean *out_running,
                                                   int *out_exit_code,
                                                   GError **error);

/* The three above in one: what `@docker:<container> argv…` does. container NULL means the one
 * running container (an error names them if there are several, or none). */
void spirit_docker_client_exec_async (SpiritDockerClient *self,
                                      const char *container,
                                      const char *const *argv,
                                      const char *const *env,
                                      GInputStream *stdin_stream,
                                      GOutputStream *stdout_stream,
                                      GOutputStream *stderr_stream,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data);
gboolean spirit_docker_client_exec_finish (SpiritDockerClient *self,
                                           GAsyncResult *result,
                                           int *out_exit_code,
                                           GError **error);

G_END_DECLS
