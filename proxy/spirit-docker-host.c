/* spirit-docker-host.c: DOCKER_HOST to a unix socket path. */
#define G_LOG_DOMAIN "spirit-docker-host"

#include "spirit-docker-host.h"

#include "spirit-error.h"

#include <string.h>

static char *
default_socket_path (void)
{
  const char *runtime = g_getenv ("XDG_RUNTIME_DIR");
  g_autofree char *user_docker = runtime ? g_build_filename (runtime, "docker.sock", NULL) : NULL;
  g_autofree char *user_podman
    = runtime ? g_build_filename (runtime, "podman", "podman.sock", NULL) : NULL;
  const char *candidates[]
    = { "/var/run/docker.sock", user_docker, "/run/podman/podman.sock", user_podman };

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (candidates[i] != NULL && g_file_test (candidates[i], G_FILE_TEST_EXISTS))
      return g_strdup (candidates[i]);
  return g_strdup ("/var/run/docker.sock");
}

char *
spirit_docker_host_socket_path (const char *docker_host, GError **error)
{
  const char *path;

  if (docker_host == NULL)
    docker_host = g_getenv ("DOCKER_HOST");
  if (docker_host == NULL || *docker_host == '\0')
    return default_socket_path ();

  if (!g_str_has_prefix (docker_host, "unix://"))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "DOCKER_HOST=%s is not supported: @docker talks to the engine over its unix "
                   "socket (DOCKER_HOST=unix:///path/to/docker.sock)",
                   docker_host);
      return NULL;
    }
  path = docker_host + strlen ("unix://");
  if (*path != '/')
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                   "DOCKER_HOST=%s: expected an absolute socket path after unix:// "
                   "(unix:///run/docker.sock)",
                   docker_host);
      return NULL;
    }
  return g_strdup (path);
}
