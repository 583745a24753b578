/* spirit-docker-client.c: the engine's JSON calls (containers, exec create and inspect) and the
 * chain that runs one @docker command.
 *
 * Paths carry no API version (/containers/json, not /v1.41/containers/json): an unversioned
 * path means "the server's current version" to both engines, and the versions do not overlap
 * (podman 4.3 serves up to 1.41, Docker 29 refuses anything below 1.44). Every field used here
 * means the same in all of them.
 */
#define G_LOG_DOMAIN "spirit-docker-client"

#include "spirit-docker-client-private.h"

#include "spirit-docker-host.h"
#include "spirit-error.h"

#define API_BASE "http://docker"

struct _SpiritDockerClient
{
  GObject parent_instance;

  char *socket_path;
  SoupSession *session;        /* JSON calls */
  SoupSession *stream_session; /* exec start: no I/O timeout */
};

G_DEFINE_FINAL_TYPE (SpiritDockerClient, spirit_docker_client, G_TYPE_OBJECT)

void
spirit_docker_container_free (SpiritDockerContainer *container)
{
  if (container == NULL)
    return;
  g_free (container->id);
  g_free (container->name);
  g_free (container->image);
  g_free (container->state);
  g_free (container);
}

static void
spirit_docker_client_finalize (GObject *object)
{
  SpiritDockerClient *self = SPIRIT_DOCKER_CLIENT (object);

  g_clear_object (&self->session);
  g_clear_object (&self->stream_session);
  g_free (self->socket_path);
  G_OBJECT_CLASS (spirit_docker_client_parent_class)->finalize (object);
}

static void
spirit_docker_client_class_init (SpiritDockerClientClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = spirit_docker_client_finalize;
}

static void
spirit_docker_client_init (SpiritDockerClient *self)
{
}

SpiritDockerClient *
spirit_docker_client_new (const char *docker_host, GError **error)
{
  g_autoptr (SpiritDockerClient) self = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autofree char *path = spirit_docker_host_socket_path (docker_host, error);

  if (path == NULL)
    return NULL;
  self = g_object_new (SPIRIT_TYPE_DOCKER_CLIENT, NULL);
  self->socket_path = g_steal_pointer (&path);
  address = g_unix_socket_address_new (self->socket_path);
  /* "remote-connectable" sends every request to the socket, whatever the URI's host says. */
  self->session = soup_session_new_with_options ("remote-connectable", address, "timeout", 60,
                                                 "user-agent", "spirit/" SPIRIT_VERSION, NULL);
  self->stream_session = soup_session_new_with_options (
    "remote-connectable", address, "timeout", 0, "max-conns", 256, "max-conns-per-host", 256,
    "user-agent", "spirit/" SPIRIT_VERSION, NULL);
  return g_steal_pointer (&self);
}

const char *
spirit_docker_client_get_socket_path (SpiritDockerClient *self)
{
  g_return_val_if_fail (SPIRIT_IS_DOCKER_CLIENT (self), NULL);
  return self->socket_path;
}

SoupSession *
spirit_docker_client_get_stream_session (SpiritDockerClient *self)
{
  return self->stream_session;
}

SoupMessage *
spirit_docker_client_new_message (SpiritDockerClient *self,
                                  const char *method,
                                  const char *path,
                                  JsonNode *body)
{
  g_autofree char *uri = g_strconcat (API_BASE, path, NULL);
  SoupMessage *msg = soup_message_new (method, uri);

  g_assert (msg != NULL);
  if (body != NULL)
    {
      gsize len = 0;
      char *json = json_to_string (body, FALSE);
      g_autoptr (GBytes) bytes = NULL;

      len = strlen (json);
      bytes = g_bytes_new_take (json, len);
      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  return msg;
}

GError *
spirit_docker_client_transport_error (SpiritDockerClient *self, const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)
      || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
    return g_error_new (SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE,
                        "cannot reach the Docker engine at unix://%s: %s (is dockerd or "
                        "'podman system service' running? DOCKER_HOST chooses the socket)",
                        self->socket_path, error->message);
  return g_error_new (SPIRIT_ERROR, SPIRIT_ERROR_FAILED, "the Docker engine at unix://%s: %s",
                      self->socket_path, error->message);
}

static char *
engine_message (GBytes *body)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize len = 0;
  const char *data = body ? g_bytes_get_data (body, &len) : NULL;
  JsonNode *root;

  if (data == NULL || len == 0 || !json_parser_load_from_data (parser, data, (gssize)len, NULL))
    return NULL;
  root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  return g_strdup (
    json_object_get_string_member_with_default (json_node_get_object (root), "message", NULL));
}

GError *
spirit_docker_client_api_error (SpiritDockerClient *self,
                                SoupMessage *msg,
                                GBytes *body,
                                const char *doing)
{
  guint status = soup_message_get_status (msg);
  g_autofree char *message = engine_message (body);
  const char *reason = message ? message : soup_message_get_reason_phrase (msg);
  SpiritError code = status == 404   ? SPIRIT_ERROR_INVALID_ARGUMENT
                     : status == 409 ? SPIRIT_ERROR_INVALID_STATE
                                     : SPIRIT_ERROR_FAILED;

  return g_error_new (SPIRIT_ERROR, code, "%s: the Docker engine answered %u: %s", doing, status,
                      reason ? reason : "");
}

/* ---- one JSON call ---- */

typedef struct
{
  SoupMessage *msg;
  char *doing;
} JsonCall;

typedef struct
{
  guint status;
  JsonNode *root;    /* NULL for an empty body */
  GError *api_error; /* for a status outside 2xx */
} JsonReply;

static void
json_call_free (JsonCall *call)
{
  g_clear_object (&call->msg);
  g_free (call->doing);
  g_free (call);
}

static void
json_reply_free (JsonReply *reply)
{
  g_clear_pointer (&reply->root, json_node_unref);
  g_clear_error (&reply->api_error);
  g_free (reply);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (JsonReply, json_reply_free)

static void
on_json_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SpiritDockerClient *self = g_task_get_source_object (task);
  JsonCall *call = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body
    = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  g_autoptr (JsonReply) reply = g_new0 (JsonReply, 1);
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize len = 0;
  const char *data;

  if (body == NULL)
    {
      g_task_return_error (task, spirit_docker_client_transport_error (self, error));
      return;
    }
  reply->status = soup_message_get_status (call->msg);
  if (!SOUP_STATUS_IS_SUCCESSFUL (reply->status))
    {
      reply->api_error = spirit_docker_client_api_error (self, call->msg, body, call->doing);
      g_task_return_pointer (task, g_steal_pointer (&reply), (GDestroyNotify)json_reply_free);
      return;
    }
  data = g_bytes_get_data (body, &len);
  if (len > 0)
    {
      if (!json_parser_load_from_data (parser, data, (gssize)len, &error))
        {
          g_task_return_new_error (task, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                                   "%s: the Docker engine's answer is not JSON: %s", call->doing,
                                   error->message);
          return;
        }
      reply->root = json_node_ref (json_parser_get_root (parser));
    }
  g_task_return_pointer (task, g_steal_pointer (&reply), (GDestroyNotify)json_reply_free);
}

static void
json_call_async (SpiritDockerClient *self,
                 const char *method,
                 const char *path,
                 JsonNode *body,
                 const char *doing,
                 GCancellable *cancellable,
                 GAsyncReadyCallback callback,
                 gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  JsonCall *call = g_new0 (JsonCall, 1);

  call->msg = spirit_docker_client_new_message (self, method, path, body);
  call->doing = g_strdup (doing);
  g_task_set_task_data (task, call, (GDestroyNotify)json_call_free);
  soup_session_send_and_read_async (self->session, call->msg, G_PRIORITY_DEFAULT, cancellable,
                                    on_json_read, task);
}

static JsonReply *
json_call_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The reply of a call that must succeed with a JSON body of one kind: NULL with the transport's
 * error, the engine's error, or a clear one for a body of another shape. */
static JsonReply *
json_call_finish_expecting (GAsyncResult *result, JsonNodeType kind, const char *doing, GError **error)
{
  g_autoptr (JsonReply) reply = json_call_finish (result, error);

  if (reply == NULL)
    return NULL;
  if (reply->api_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&reply->api_error));
      return NULL;
    }
  if (reply->root == NULL || JSON_NODE_TYPE (reply->root) != kind)
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED, "%s: the Docker engine's answer is not %s",
                   doing, kind == JSON_NODE_ARRAY ? "a list" : "an object");
      return NULL;
    }
  return g_steal_pointer (&reply);
}

/* ---- containers ---- */

static SpiritDockerContainer *
container_from_json (JsonObject *object)
{
  SpiritDockerContainer *container = g_new0 (SpiritDockerContainer, 1);
  JsonNode *names_node = json_object_get_member (object, "Names");
  JsonArray *names
    = names_node && JSON_NODE_HOLDS_ARRAY (names_node) ? json_node_get_array (names_node) : NULL;
  const char *name = names && json_array_get_length (names) > 0
                       ? json_node_get_string (json_array_get_element (names, 0))
                       : NULL;

  container->id = g_strdup (json_object_get_string_member_with_default (object, "Id", ""));
  if (name != NULL && name[0] == '/')
    name++;
  container->name = g_strdup (name ? name : container->id);
  container->image = g_strdup (json_object_get_string_member_with_default (object, "Image", ""));
  container->state = g_strdup (json_object_get_string_member_with_default (object, "State", ""));
  return container;
}

static int
compare_containers (gconstpointer a, gconstpointer b)
{
  const SpiritDockerContainer *ca = *(SpiritDockerContainer *const *)a;
  const SpiritDockerContainer *cb = *(SpiritDockerContainer *const *)b;
  gboolean ra = g_str_equal (ca->state, "running"), rb = g_str_equal (cb->state, "running");

  if (ra != rb)
    return ra ? -1 : 1;
  return g_strcmp0 (ca->name, cb->name);
}

static void
on_containers_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonReply) reply =
    json_call_finish_expecting (result, JSON_NODE_ARRAY, "listing containers", &error);
  g_autoptr (GPtrArray) containers = NULL;
  JsonArray *array;

  if (reply == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  array = json_node_get_array (reply->root);
  containers = g_ptr_array_new_with_free_func ((GDestroyNotify)spirit_docker_container_free);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      if (JSON_NODE_HOLDS_OBJECT (node))
        g_ptr_array_add (containers, container_from_json (json_node_get_object (node)));
    }
  g_ptr_array_sort (containers, compare_containers);
  g_task_return_pointer (task, g_steal_pointer (&containers), (GDestroyNotify)g_ptr_array_unref);
}

void
spirit_docker_client_list_containers_async (SpiritDockerClient *self,
                                            gboolean all,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_return_if_fail (SPIRIT_IS_DOCKER_CLIENT (self));
  g_task_set_source_tag (task, spirit_docker_client_list_containers_async);
  json_call_async (self, "GET", all ? "/containers/json?all=1" : "/containers/json", NULL,
                   "listing containers", cancellable, on_containers_listed, task);
}

GPtrArray *
spirit_docker_client_list_containers_finish (SpiritDockerClient *self,
                                             GAsyncResult *result,
                                             GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* "web (running), db (exited)", or "none" */
static char *
describe_containers (GPtrArray *containers)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < containers->len; i++)
    {
      SpiritDockerContainer *c = g_ptr_array_index (containers, i);
      g_string_append_printf (out, "%s%s (%s)", i > 0 ? ", " : "", c->name, c->state);
    }
  if (out->len == 0)
    g_string_append (out, "none");
  return g_string_free (out, FALSE);
}

/* ---- exec create ---- */

typedef struct
{
  char *container;
  GError *create_error;
} CreateData;

static void
create_data_free (CreateData *data)
{
  g_free (data->container);
  g_clear_error (&data->create_error);
  g_free (data);
}

static void
on_refused_container_inspected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CreateData *data = g_task_get_task_data (task);
  g_autoptr (JsonReply) reply = json_call_finish (result, NULL);
  JsonObject *state = NULL;

  if (reply != NULL && reply->api_error == NULL && reply->root != NULL
      && JSON_NODE_HOLDS_OBJECT (reply->root))
    {
      JsonNode *node = json_object_get_member (json_node_get_object (reply->root), "State");
      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        state = json_node_get_object (node);
    }
  if (state != NULL && !json_object_get_boolean_member_with_default (state, "Running", TRUE))
    {
      g_task_return_new_error (
        task, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_STATE, "the container '%s' is not running (%s)",
        data->container, json_object_get_string_member_with_default (state, "Status", "stopped"));
      return;
    }
  g_task_return_error (task, g_steal_pointer (&data->create_error));
}

static void
on_unknown_container_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CreateData *data = g_task_get_task_data (task);
  g_autoptr (GPtrArray) containers
    = spirit_docker_client_list_containers_finish (SPIRIT_DOCKER_CLIENT (source), result, NULL);
  g_autofree char *known = containers ? describe_containers (containers) : g_strdup ("unknown");

  g_task_return_new_error (
    task, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
    "no container '%s' on unix://%s; the containers are: %s", data->container,
    spirit_docker_client_get_socket_path (SPIRIT_DOCKER_CLIENT (source)), known);
}

static void
on_exec_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SpiritDockerClient *self = g_task_get_source_object (task);
  CreateData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonReply) reply = json_call_finish (result, &error);
  const char *id = NULL;

  if (reply == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (reply->status == 404)
    {
      /* The engine says only "no such container": list the ones there are. */
      GCancellable *cancellable = g_task_get_cancellable (task);

      spirit_docker_client_list_containers_async (
        self, TRUE, cancellable, on_unknown_container_listed, g_steal_pointer (&task));
      return;
    }
  if (reply->api_error != NULL)
    {
      /* Docker answers 409 for a container that is not running, podman 500: ask the container
       * itself before passing the engine's error on. */
      g_autofree char *escaped = g_uri_escape_string (data->container, NULL, FALSE);
      g_autofree char *path = g_strdup_printf ("/containers/%s/json", escaped);
      GCancellable *cancellable = g_task_get_cancellable (task);

      data->create_error = g_steal_pointer (&reply->api_error);
      json_call_async (self, "GET", path, NULL, "inspecting a container", cancellable,
                       on_refused_container_inspected, g_steal_pointer (&task));
      return;
    }
  if (reply->root != NULL && JSON_NODE_HOLDS_OBJECT (reply->root))
    id
      = json_object_get_string_member_with_default (json_node_get_object (reply->root), "Id", NULL);
  if (id == NULL || *id == '\0')
    {
      g_task_return_new_error (task, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                               "creating an exec in '%s': the Docker engine gave no exec id",
                               data->container);
      return;
    }
  g_task_return_pointer (task, g_strdup (id), g_free);
}

static JsonNode *
strv_to_json (const char *const *strv)
{
  g_autoptr (JsonArray) array = json_array_new ();
  JsonNode *node = json_node_new (JSON_NODE_ARRAY);

  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    json_array_add_string_element (array, strv[i]);
  json_node_set_array (node, array);
  return node;
}

void
spirit_docker_client_exec_create_async (SpiritDockerClient *self,
                                        const char *container,
                                        const char *const *argv,
                                        const char *const *env,
                                        gboolean attach_stdin,
                                        GCancellable *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (JsonObject) body = json_object_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *escaped = NULL;
  g_autofree char *path = NULL;
  g_autofree char *doing = NULL;
  CreateData *data = g_new0 (CreateData, 1);

  g_return_if_fail (SPIRIT_IS_DOCKER_CLIENT (self));
  g_task_set_source_tag (task, spirit_docker_client_exec_create_async);
  data->container = g_strdup (container);
  g_task_set_task_data (task, data, (GDestroyNotify)create_data_free);
  if (container == NULL || *container == '\0' || argv == NULL || argv[0] == NULL)
    {
      g_task_return_new_error (task, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
                               "an exec needs a container and a command");
      return;
    }

  json_object_set_boolean_member (body, "AttachStdin", attach_stdin);
  json_object_set_boolean_member (body, "AttachStdout", TRUE);
  json_object_set_boolean_member (body, "AttachStderr", TRUE);
  json_object_set_boolean_member (body, "Tty", FALSE);
  json_object_set_member (body, "Cmd", strv_to_json (argv));
  if (env != NULL && env[0] != NULL)
    json_object_set_member (body, "Env", strv_to_json (env));
  json_node_set_object (node, body);

  escaped = g_uri_escape_string (container, NULL, FALSE);
  path = g_strdup_printf ("/containers/%s/exec", escaped);
  doing = g_strdup_printf ("creating an exec in '%s'", container);
  json_call_async (self, "POST", path, node, doing, cancellable, on_exec_created,
                   g_steal_pointer (&task));
}

char *
spirit_docker_client_exec_create_finish (SpiritDockerClient *self,
                                         GAsyncResult *result,
                                         GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- exec inspect ---- */

typedef struct
{
  gboolean running;
  int exit_code;
} ExecState;

static void
on_exec_inspected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonReply) reply =
    json_call_finish_expecting (result, JSON_NODE_OBJECT, "inspecting an exec", &error);
  ExecState *state;
  JsonObject *object;
  JsonNode *exit_code;

  if (reply == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  object = json_node_get_object (reply->root);
  exit_code = json_object_get_member (object, "ExitCode");
  state = g_new0 (ExecState, 1);
  /* A running exec has no exit code yet: Docker sends null, podman 0. */
  state->running = json_object_get_boolean_member_with_default (object, "Running", FALSE)
                   || exit_code == NULL || JSON_NODE_HOLDS_NULL (exit_code);
  state->exit_code = state->running ? -1 : (int)json_node_get_int (exit_code);
  g_task_return_pointer (task, state, g_free);
}

void
spirit_docker_client_exec_inspect_async (SpiritDockerClient *self,
                                         const char *exec_id,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *escaped = g_uri_escape_string (exec_id, NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("/exec/%s/json", escaped);

  g_task_set_source_tag (task, spirit_docker_client_exec_inspect_async);
  json_call_async (self, "GET", path, NULL, "inspecting an exec", cancellable, on_exec_inspected,
                   task);
}

gboolean
spirit_docker_client_exec_inspect_finish (SpiritDockerClient *self,
                                          GAsyncResult *result,
                                          gboolean *out_running,
                                          int *out_exit_code,
                                          GError **error)
{
  g_autofree ExecState *state = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  state = g_task_propagate_pointer (G_TASK (result), error);
  if (state == NULL)
    return FALSE;
  if (out_running != NULL)
    *out_running = state->running;
  if (out_exit_code != NULL)
    *out_exit_code = state->exit_code;
  return TRUE;
}
