/* spirit-docker-host.h: where the Docker Engine API is: DOCKER_HOST, or the usual sockets.
 *
 * Only unix:// is served: the engine's unix socket is what its permissions protect, and the
 * client side of Spirit runs as the calling user. tcp://, ssh:// and npipe:// are refused with a
 * message that says so, never silently replaced by another socket.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* docker_host: a DOCKER_HOST value, or NULL to read $DOCKER_HOST. Unset or empty means the first
 * socket that exists of /var/run/docker.sock, $XDG_RUNTIME_DIR/docker.sock,
 * /run/podman/podman.sock and $XDG_RUNTIME_DIR/podman/podman.sock (else /var/run/docker.sock). */
char *spirit_docker_host_socket_path (const char *docker_host, GError **error);

G_END_DECLS
