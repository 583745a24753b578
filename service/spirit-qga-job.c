/* spirit-qga-job.c: guest-exec, guest-exec-status polling, and the output written at the end. */
#define G_LOG_DOMAIN "spirit-qga-job"

#include "spirit-qga-job.h"
#include "spirit-error.h"
#include "spirit-exec-fd.h"
#include "spirit-job-caller.h"
#include "spirit-libvirt.h"

#include <errno.h>
#include <unistd.h>
#include <json-glib/json-glib.h>
#include <libvirt/libvirt-qemu.h>

#define AGENT_TIMEOUT_S 30
#define POLL_FIRST_MS 10
#define POLL_MAX_MS 500
#define STDIN_CHUNK (64 * 1024)

typedef struct
{
  SpiritQgaJob *job;
  SpiritExecFd *fd;
  GBytes *data;
  gsize offset;
  guint watch;
  gboolean done;
} QgaOutput;

struct _SpiritQgaJob
{
  SpiritVm *vm;
  GVirDomain *domain;
  SpiritJobCaller caller; /* its Exec call is answered at once */
  SpiritExecRequest request;

  SpiritExecFd *in;
  GByteArray *input;
  guint in_watch;

  gint64 pid;
  guint poll_delay_ms;
  guint poll_source;
  gboolean polling;

  QgaOutput out[2];
  gboolean finished;
  gboolean freeing;
  SpiritQgaJobDone done;
  gpointer done_data;
};

typedef struct
{
  gboolean exited;
  gint64 exit_code;
  gint64 signal_number;
  gboolean has_signal;
  GBytes *out[2];
  gboolean truncated[2];
} QgaStatus;

static void
qga_status_free (QgaStatus *status)
{
  g_clear_pointer (&status->out[0], g_bytes_unref);
  g_clear_pointer (&status->out[1], g_bytes_unref);
  g_free (status);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QgaStatus, qga_status_free)

static void spirit_qga_job_poll (SpiritQgaJob *job);

/* --- blocking: one agent command --------------------------------------------------------- */

static JsonObject *
qga_command (GVirDomain *domain, JsonNode *command, GError **error)
{
  g_autoptr (virDomain) handle = spirit_domain_get_handle (domain);
  g_autofree char *text = json_to_string (command, FALSE);
  g_autofree char *reply = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local = NULL;
  JsonNode *root;
  JsonObject *object;

  reply = virDomainQemuAgentCommand (handle, text, AGENT_TIMEOUT_S, 0);
  if (reply == NULL)
    {
      int code = virGetLastErrorCode ();
      const char *message = virGetLastErrorMessage ();

      if (code == VIR_ERR_AGENT_UNRESPONSIVE || code == VIR_ERR_AGENT_UNSYNCED
          || code == VIR_ERR_OPERATION_TIMEOUT)
        g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_AGENT_UNAVAILABLE,
                     "qemu-guest-agent does not answer: %s", message);
      else if (message != NULL && strstr (message, "No complete agent response") != NULL)
        g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                     "The command's output is more than libvirt takes from qemu-guest-agent "
                     "(one reply of at most 10 MiB, base64): %s",
                     message);
      else
        spirit_set_error_from_libvirt (error, "qemu-guest-agent failed");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, reply, -1, &local)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                   "qemu-guest-agent sent a reply that is not JSON");
      return NULL;
    }
  object = json_node_get_object (root);
  if (json_object_has_member (object, "error"))
    {
      JsonObject *err = json_object_get_object_member (object, "error");
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED, "qemu-guest-agent: %s",
                   err && json_object_has_member (err, "desc")
                     ? json_object_get_string_member (err, "desc")
                     : "an error");
      return NULL;
    }
  if (!json_object_has_member (object, "return")
      || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "return")))
    {
      g_set_error (error, SPIRIT_ERROR, SPIRIT_ERROR_FAILED, "qemu-guest-agent sent no result");
      return NULL;
    }
  return json_object_ref (json_object_get_object_member (object, "return"));
}

static void
exec_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SpiritQgaJob *job = task_data;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) command = NULL;
  g_autoptr (JsonObject) result = NULL;
  GError *error = NULL;
  const SpiritExecRequest *r = &job->request;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "execute");
  json_builder_add_string_value (b, "guest-exec");
  json_builder_set_member_name (b, "arguments");
  json_builder_begin_object (b);
  /* qemu-ga has no working directory and no shell option: /bin/sh -c does both. */
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, r->shell != NULL || r->cwd != NULL ? "/bin/sh" : r->argv[0]);
  json_builder_set_member_name (b, "arg");
  json_builder_begin_array (b);
  if (r->cwd != NULL)
    {
      json_builder_add_string_value (b, "-c");
      json_builder_add_string_value (b, r->shell ? "cd \"$0\" && eval \"$1\""
                                                 : "cd \"$0\" && exec \"$@\"");
      json_builder_add_string_value (b, r->cwd);
      if (r->shell != NULL)
        json_builder_add_string_value (b, r->shell);
      for (guint i = 0; r->shell == NULL && r->argv[i]; i++)
        json_builder_add_string_value (b, r->argv[i]);
    }
  else if (r->shell != NULL)
    {
      json_builder_add_string_value (b, "-c");
      json_builder_add_string_value (b, r->shell);
    }
  else
    for (guint i = 1; r->argv[i]; i++)
      json_builder_add_string_value (b, r->argv[i]);
  json_builder_end_array (b);
  if (r->env != NULL)
    {
      json_builder_set_member_name (b, "env");
      json_builder_begin_array (b);
      for (guint i = 0; r->env[i]; i++)
        json_builder_add_string_value (b, r->env[i]);
      json_builder_end_array (b);
    }
  if (job->input != NULL && job->input->len > 0)
    {
      g_autofree char *b64 = g_base64_encode (job->input->data, job->input->len);
      json_builder_set_member_name (b, "input-data");
      json_builder_add_string_value (b, b64);
    }
  json_builder_set_member_name (b, "capture-output");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_end_object (b);
  json_builder_end_object (b);
  command = json_builder_get_root (b);

  result = qga_command (job->domain, command, &error);
  if (result == NULL)
    g_task_return_error (task, error);
  else if (!json_object_has_member (result, "pid"))
    g_task_return_new_error (task, SPIRIT_ERROR, SPIRIT_ERROR_FAILED,
                             "qemu-guest-agent returned no pid");
  else
    g_task_return_int (task, json_object_get_int_member (result, "pid"));
}

static GBytes *
decode_member (JsonObject *object, const char *name)
{
  const char *b64;
  gsize len = 0;
  guchar *data;

  if (!json_object_has_member (object, name))
    return NULL;
  b64 = json_object_get_string_member (object, name);
  if (b64 == NULL)
    return NULL;
  data = g_base64_decode (b64, &len);
  return g_bytes_new_take (data, len);
}

static void
status_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SpiritQgaJob *job = task_data;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (JsonNode) command = NULL;
  g_autoptr (JsonObject) result = NULL;
  g_autoptr (QgaStatus) status = g_new0 (QgaStatus, 1);
  GError *error = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "execute");
  json_builder_add_string_value (b, "guest-exec-status");
  json_builder_set_member_name (b, "arguments");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "pid");
  json_builder_add_int_value (b, job->pid);
  json_builder_end_object (b);
  json_builder_end_object (b);
  command = json_builder_get_root (b);

  result = qga_command (job->domain, command, &error);
  if (result == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  status->exited = json_object_get_boolean_member_with_default (result, "exited", FALSE);
  status->exit_code = json_object_get_int_member_with_default (result, "exitcode", 0);
  status->has_signal = json_object_has_member (result, "signal");
  status->signal_number = json_object_get_int_member_with_default (result, "signal", 0);
  status->out[0] = decode_member (result, "out-data");
  status->out[1] = decode_member (result, "err-data");
  status->truncated[0]
    = json_object_get_boolean_member_with_default (result, "out-truncated", FALSE);
  status->truncated[1]
    = json_object_get_boolean_member_with_default (result, "err-truncated", FALSE);
  g_task_return_pointer (task, g_steal_pointer (&status), (GDestroyNotify)qga_status_free);
}

/* --- main thread ------------------------------------------------------------------------- */

static void
qga_job_close_fds (SpiritQgaJob *job)
{
  for (int i = 0; i < 2; i++)
    {
      g_clear_handle_id (&job->out[i].watch, g_source_remove);
      g_clear_pointer (&job->out[i].fd, spirit_exec_fd_free);
    }
  g_clear_pointer (&job->in, spirit_exec_fd_free);
}

/* One blocking libvirt call at a time, on the VM's worker; the job outlives it (see free). */
static void
qga_job_call (SpiritQgaJob *job, GTaskThreadFunc func, GAsyncReadyCallback done)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, done, job);

  job->polling = TRUE;
  g_task_set_task_data (task, job, NULL);
  spirit_worker_run (spirit_vm_get_worker (job->vm), task, func);
}

void
spirit_qga_job_free (SpiritQgaJob *job)
{
  if (job == NULL)
    return;
  if (job->polling)
    {
      /* A worker still uses the job: it is freed when that call returns. */
      job->freeing = TRUE;
      job->caller.abandoned = TRUE;
      return;
    }
  g_clear_handle_id (&job->poll_source, g_source_remove);
  g_clear_handle_id (&job->in_watch, g_source_remove);
  qga_job_close_fds (job);
  g_clear_pointer (&job->out[0].data, g_bytes_unref);
  g_clear_pointer (&job->out[1].data, g_bytes_unref);
  spirit_job_caller_clear (&job->caller);
  g_clear_pointer (&job->input, g_byte_array_unref);
  spirit_exec_request_clear (&job->request);
  g_clear_object (&job->domain);
  g_clear_object (&job->vm);
  g_free (job);
}

/* A worker call came back: FALSE when the job was freed meanwhile, and is gone now. */
static gboolean
qga_job_call_returned (SpiritQgaJob *job)
{
  job->polling = FALSE;
  if (!job->freeing)
    return TRUE;
  spirit_qga_job_free (job);
  return FALSE;
}

const SpiritJobCaller *
spirit_qga_job_get_caller (SpiritQgaJob *job)
{
  return &job->caller;
}

static void
spirit_qga_job_finish (SpiritQgaJob *job)
{
  if (job->finished)
    return;
  job->finished = TRUE;
  qga_job_close_fds (job);
  spirit_job_caller_report (&job->caller, "qemu-ga");
  job->done (job, job->done_data);
}

static void
spirit_qga_job_fail (SpiritQgaJob *job, const GError *error)
{
  spirit_job_caller_fail (&job->caller, error);
  spirit_qga_job_finish (job);
}

static void
spirit_qga_job_maybe_finish (SpiritQgaJob *job)
{
  if (job->out[0].done && job->out[1].done)
    spirit_qga_job_finish (job);
}

static void qga_output_flush (QgaOutput *out);

static gboolean
on_output_writable (gpointer user_data)
{
  QgaOutput *out = user_data;

  out->watch = 0;
  qga_output_flush (out);
  spirit_qga_job_maybe_finish (out->job);
  return G_SOURCE_REMOVE;
}

static void
qga_output_flush (QgaOutput *out)
{
  gsize size = out->data ? g_bytes_get_size (out->data) : 0;
  const guint8 *data = out->data ? g_bytes_get_data (out->data, NULL) : NULL;

  while (out->offset < size && !out->job->caller.abandoned && out->fd != NULL)
    {
      gssize n = spirit_exec_fd_write (out->fd, data + out->offset, size - out->offset);
      if (n == -EAGAIN)
        {
          out->watch = spirit_exec_fd_watch (out->fd, on_output_writable, out);
          return;
        }
      if (n < 0)
        break; /* the caller closed it: the rest is dropped */
      out->offset += n;
    }
  out->done = TRUE;
}

static gboolean on_poll (gpointer user_data);

static void
on_status_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritQgaJob *job = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (QgaStatus) status = g_task_propagate_pointer (G_TASK (result), &error);
  GVariantDict *report;

  if (!qga_job_call_returned (job))
    return;
  if (status == NULL)
    {
      spirit_qga_job_fail (job, error);
      return;
    }
  if (!status->exited)
    {
      job->poll_delay_ms = MIN (job->poll_delay_ms * 2, POLL_MAX_MS);
      job->poll_source = g_timeout_add (job->poll_delay_ms, on_poll, job);
      return;
    }
  report = spirit_job_caller_new_status (&job->caller);
  if (status->has_signal)
    {
      const char *name = spirit_signal_name_from_number ((int)status->signal_number);
      g_variant_dict_insert (report, "signal", "s", name ? name : "UNKNOWN");
      g_variant_dict_insert (report, "signal-number", "i", (gint32)status->signal_number);
    }
  else
    g_variant_dict_insert (report, "exit-code", "i", (gint32)status->exit_code);
  if (status->truncated[0])
    g_variant_dict_insert (report, "stdout-truncated", "b", TRUE);
  if (status->truncated[1])
    g_variant_dict_insert (report, "stderr-truncated", "b", TRUE);
  for (int i = 0; i < 2; i++)
    {
      job->out[i].data = g_steal_pointer (&status->out[i]);
      qga_output_flush (&job->out[i]);
    }
  spirit_qga_job_maybe_finish (job);
}

static void
spirit_qga_job_poll (SpiritQgaJob *job)
{
  qga_job_call (job, status_thread, on_status_done);
}

static gboolean
on_poll (gpointer user_data)
{
  SpiritQgaJob *job = user_data;

  job->poll_source = 0;
  spirit_qga_job_poll (job);
  return G_SOURCE_REMOVE;
}

static void
on_exec_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SpiritQgaJob *job = user_data;
  g_autoptr (GError) error = NULL;
  gssize pid = g_task_propagate_int (G_TASK (result), &error);

  if (!qga_job_call_returned (job))
    return;
  if (error != NULL)
    {
      g_prefix_error (&error, "Could not run the command in '%s' through qemu-guest-agent: ",
                      job->caller.vm_name);
      spirit_qga_job_fail (job, error);
      return;
    }
  job->pid = pid;
  job->poll_delay_ms = POLL_FIRST_MS;
  job->poll_source = g_timeout_add (job->poll_delay_ms, on_poll, job);
}

static void
spirit_qga_job_exec (SpiritQgaJob *job)
{
  qga_job_call (job, exec_thread, on_exec_done);
}

static gboolean
on_stdin_readable (gpointer user_data)
{
  SpiritQgaJob *job = user_data;
  guint8 buf[STDIN_CHUNK];
  gssize n;

  while ((n = spirit_exec_fd_read (job->in, buf, sizeof buf)) > 0)
    {
      if (job->input->len + n > SPIRIT_QGA_MAX_STDIN)
        {
          g_autoptr (GError) error = g_error_new (
            SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT,
            "qemu-guest-agent takes at most %d bytes of stdin", SPIRIT_QGA_MAX_STDIN);
          job->in_watch = 0;
          spirit_qga_job_fail (job, error);
          return G_SOURCE_REMOVE;
        }
      g_byte_array_append (job->input, buf, n);
    }
  if (n == -EAGAIN)
    return G_SOURCE_CONTINUE;
  job->in_watch = 0;
  g_clear_pointer (&job->in, spirit_exec_fd_free);
  spirit_qga_job_exec (job);
  return G_SOURCE_REMOVE;
}

SpiritQgaJob *
spirit_qga_job_start (SpiritVm *vm,
                      const char *path,
                      GDBusMethodInvocation *invocation,
                      const SpiritExecRequest *request,
                      int stdin_fd,
                      int stdout_fd,
                      int stderr_fd,
                      SpiritQgaJobDone done,
                      gpointer user_data)
{
  SpiritQgaJob *job = g_new0 (SpiritQgaJob, 1);

  job->vm = g_object_ref (vm);
  job->domain = g_object_ref (spirit_vm_get_domain (vm));
  spirit_job_caller_init (&job->caller, invocation, path, spirit_vm_get_name (vm));
  job->request.argv = g_strdupv (request->argv);
  job->request.shell = g_strdup (request->shell);
  job->request.cwd = g_strdup (request->cwd);
  job->request.env = g_strdupv (request->env);
  job->done = done;
  job->done_data = user_data;
  job->input = g_byte_array_new ();
  for (int i = 0; i < 2; i++)
    job->out[i].job = job;
  job->out[0].fd = spirit_exec_fd_new (stdout_fd, TRUE);
  job->out[1].fd = spirit_exec_fd_new (stderr_fd, TRUE);
  job->in = spirit_exec_fd_new (stdin_fd, FALSE);

  /* The job exists from here on: a caller may write its stdin only after this reply, and
   * guest-exec needs all of it, so a command that cannot start is a JobExited error. */
  spirit_job_caller_reply_path (&job->caller);

  /* stdin goes with guest-exec, so it is read to its end first. A terminal is not read (it
   * would wait for Ctrl-D before the command even starts): the command gets no stdin. */
  if (isatty (stdin_fd))
    {
      g_clear_pointer (&job->in, spirit_exec_fd_free);
      spirit_qga_job_exec (job);
    }
  else
    job->in_watch = spirit_exec_fd_watch (job->in, on_stdin_readable, job);
  return job;
}

void
spirit_qga_job_abandon (SpiritQgaJob *job)
{
  job->caller.abandoned = TRUE;
  g_clear_handle_id (&job->in_watch, g_source_remove);
  /* qemu-ga cannot kill the command; stop polling for it and forget it. */
  if (job->caller.invocation == NULL && !job->polling)
    {
      g_clear_handle_id (&job->poll_source, g_source_remove);
      spirit_qga_job_finish (job);
    }
}
