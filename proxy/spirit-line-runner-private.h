/* spirit-line-runner-private.h: one running stage, and the three places a stage can run.
 *
 * The runner (spirit-line-runner.c) decides what each stage runs and wires its three file
 * descriptors; a backend starts it and reports its end exactly once with spirit_stage_run_done():
 *   spirit-run-host.c    @spirit: a child process of the client
 *   spirit-run-vm.c      @VM: Proxy.Exec on spiritd, or a control (--pause …) on the VM object
 *   spirit-run-docker.c  @docker: the Docker Engine API
 */
#pragma once

#include <gio/gio.h>

#include "spirit-command-line.h"
#include "spirit-docker-client.h"
#include "spirit-job-table.h"
#include "spirit-line-runner.h"

G_BEGIN_DECLS

typedef struct _SpiritStageRun SpiritStageRun;
typedef void (*SpiritStageRunDone) (SpiritStageRun *run, gpointer user_data);

struct _SpiritStageRun
{
  SpiritLineRunner *runner;   /* strong */
  const SpiritTarget *target; /* borrowed from the line, which outlives the run */
  SpiritControl control;      /* a control stage: no command */
  const char *snapshot_name;  /* SNAPSHOT_SAVE */
  GStrv argv;                 /* run without a shell; or NULL and: */
  char *shell;                /* a line for the target's shell */
  GStrv env;                  /* NAME=value, never NULL */
  int fds[3];                 /* stdin, stdout, stderr; owned until the backend takes them */
  int err_fd;                 /* where this stage's own errors are reported (not owned) */
  GCancellable *cancellable;
  gboolean is_relay; /* moves a redirected file's bytes for another stage */

  /* the outcome */
  int status;
  SpiritStageRunDone done;
  gpointer done_data;
};

/* Closes fds[] that are still open. */
void spirit_stage_run_close_fds (SpiritStageRun *run);

/* Ends the stage: status is its exit status; error (may be NULL) is printed first as
 * "spirit: MESSAGE" on err_fd. Closes the stage's fds. */
void spirit_stage_run_done (SpiritStageRun *run, int status, const GError *error);

/* Prints "spirit: MESSAGE" on err_fd, for what the user must know but does not end the stage. */
void spirit_stage_run_note (SpiritStageRun *run, const char *message);

/* 128 + signal for a signal, the code otherwise: a wait status as sh reports it. */
int spirit_stage_status_from_wait (int wait_status);

void spirit_run_host_start (SpiritStageRun *run);
void spirit_run_vm_start (SpiritStageRun *run);
void spirit_run_docker_start (SpiritStageRun *run);

/* For the backends. */
GDBusConnection *spirit_line_runner_get_bus (SpiritLineRunner *self);
SpiritDockerClient *spirit_line_runner_get_docker (SpiritLineRunner *self, GError **error);

/* spirit-run-vm.c keeps one JobExited subscription per runner. */
SpiritJobTable *spirit_line_runner_get_jobs (SpiritLineRunner *self);

G_END_DECLS
