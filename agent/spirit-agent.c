/* spirit-agent.c: main() of the Spirit guest agent.
 *
 * Opens the virtio-serial port spirit.0 (or, with --stdio, talks over stdin/stdout, which is how
 * the tests drive it without a VM), wires the port to a session and runs the main loop until
 * SIGTERM/SIGINT. In --stdio mode the end of stdin ends the agent; on a virtio port the agent
 * outlives any number of host disconnects.
 */
#define G_LOG_DOMAIN "spirit-agent"

#include "spirit-agent-platform.h"
#include "spirit-agent-port.h"
#include "spirit-agent-session.h"

#include <gio/gio.h>
#include <locale.h>
#include <stdlib.h>

typedef struct
{
  SpiritAgentSession *session;
  GMainLoop *loop;
  gboolean stdio;
} SpiritAgent;

static void
on_connected (gpointer data)
{
  SpiritAgent *agent = data;

  spirit_agent_session_connected (agent->session);
}

static void
on_disconnected (gpointer data)
{
  SpiritAgent *agent = data;

  spirit_agent_session_disconnected (agent->session);
  if (agent->stdio)
    g_main_loop_quit (agent->loop);
}

static void
on_data (const guint8 *data, gsize len, gpointer user_data)
{
  SpiritAgent *agent = user_data;

  spirit_agent_session_data (agent->session, data, len);
}

static void
on_drained (gpointer data)
{
  SpiritAgent *agent = data;

  spirit_agent_session_drained (agent->session);
}

static gboolean
on_quit_signal (gpointer data)
{
  SpiritAgent *agent = data;

  g_message ("terminating");
  g_main_loop_quit (agent->loop);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  g_autofree gchar *port_path = NULL;
  gboolean stdio = FALSE;
  gboolean verbose = FALSE;
  gint max_jobs = 0;
  GOptionEntry entries[] = {
    { "port", 'p', 0, G_OPTION_ARG_FILENAME, &port_path,
      "The virtio-serial port (default: the platform's spirit.0)", "PATH" },
    { "stdio", 0, 0, G_OPTION_ARG_NONE, &stdio,
      "Speak the protocol on stdin/stdout and exit at EOF (tests)", NULL },
    { "max-jobs", 0, 0, G_OPTION_ARG_INT, &max_jobs, "Concurrent jobs per session", "N" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Debug output on stderr", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- the Spirit guest agent");
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritAgentPort) port = NULL;
  g_autoptr (SpiritAgentSession) session = NULL;
  g_autoptr (GMainLoop) loop = NULL;
  SpiritAgentPortCallbacks callbacks = { on_connected, on_disconnected, on_data, on_drained };
  SpiritAgent agent = { 0 };
  SpiritLimits limits;

  setlocale (LC_ALL, "");
  /* stdout may be the channel itself (--stdio): every log line goes to stderr. */
  g_log_writer_default_set_use_stderr (TRUE);
  spirit_platform_init ();
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("spirit-agent: %s\n", error->message);
      return 2;
    }
  if (verbose)
    g_log_set_debug_enabled (TRUE);

  spirit_limits_init_default (&limits);
  if (max_jobs > 0)
    limits.max_jobs = max_jobs;

  if (stdio)
    port = spirit_agent_port_new_stdio (0, 1);
  else
    {
      const char *path = port_path != NULL ? port_path : spirit_platform_default_port ();

      port = spirit_agent_port_open (path, &error);
      if (port == NULL)
        {
          g_printerr ("spirit-agent: %s\n", error->message);
          return 1;
        }
      g_message ("spirit-agent %s serving %s", SPIRIT_VERSION, path);
    }

  loop = g_main_loop_new (NULL, FALSE);
  session = spirit_agent_session_new (port, &limits);
  agent = (SpiritAgent){ session, loop, stdio };
  spirit_platform_watch_terminate (on_quit_signal, &agent);
  spirit_agent_port_start (port, &callbacks, &agent);
  g_main_loop_run (loop);

  /* Jobs die with the session; the port goes after them. */
  g_clear_pointer (&session, spirit_agent_session_free);
  return 0;
}
