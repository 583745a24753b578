/* spirit-gpu-run.h: one GPU swap from start to end, on a thread of its own.
 *
 * Passthrough: sessions → inhibit → stop-hud → the vfio steps (check … vfio-node, see
 * docs/gpu-swap.md) → define → start-vm. Reclaim: inhibit → stop-vm (forced only) →
 * remove-hostdevs → the steps back (vfio-holders … restore-vtconsoles) → start-hud.
 * Every step is written to the journal (Spirit's state directory) before it is taken and
 * announced through the progress callback; a failed passthrough is rolled back (the GPU to its
 * host drivers, the host devices out of the VM's definition, the HUD started again) and the
 * error names the step. Each step waits for the real state change with a deadline.
 *
 * Everything here blocks: spirit-gpu-object.c runs it in a GTask thread.
 */
#pragma once

#include <gio/gio.h>
#include <libvirt-gobject/libvirt-gobject.h>

#include "spirit-vfio-bind.h"

G_BEGIN_DECLS

/* Where the system's parts are, and the test knobs (honoured only with spiritd --session). */
typedef struct
{
  char *state_dir;        /* journal files; STATE_DIRECTORY, else /var/lib/spirit */
  char *hud_unit;         /* the HUD's user unit, "nexus-hud.service" */
  char *user_bus_address; /* tests: the HUD's user manager on this message bus */
  char *user_runtime_dir; /* tests: instead of /run/user/UID (its systemd/private and bus) */
  char *seat;             /* the GPU's seat, "seat0" */
  guint unit_timeout_ms;  /* how long a unit's stop or start job may take */
  guint step_timeout_ms;  /* each sysfs step's deadline (SpiritVfioSwap) */
  GStrv fail_steps;       /* tests: these orchestration steps fail (SPIRIT_GPU_FAIL) */
  char *crash_step; /* tests: exit(70) just before this step, journal written (SPIRIT_GPU_CRASH) */
} SpiritGpuRunConfig;

SpiritGpuRunConfig *spirit_gpu_run_config_new_from_env (gboolean allow_test_knobs);
void spirit_gpu_run_config_free (SpiritGpuRunConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritGpuRunConfig, spirit_gpu_run_config_free)

typedef struct _SpiritGpuRun SpiritGpuRun;

/* Called on the run's thread before each step. */
typedef void (*SpiritGpuRunProgress) (SpiritGpuRun *run,
                                      const char *step,
                                      const char *description,
                                      guint index,
                                      guint total,
                                      gpointer user_data);

SpiritGpuRun *spirit_gpu_run_new (const SpiritGpuRunConfig *config, SpiritVfioSwap *swap);
SpiritGpuRun *spirit_gpu_run_new_from_journal (const SpiritGpuRunConfig *config,
                                               GVariant *journal,
                                               GError **error);
void spirit_gpu_run_free (SpiritGpuRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritGpuRun, spirit_gpu_run_free)

void spirit_gpu_run_set_vm (SpiritGpuRun *run,
                            GVirDomain *domain,
                            const char *name,
                            const char *lookup_key);
void spirit_gpu_run_set_force (SpiritGpuRun *run, gboolean force);
void spirit_gpu_run_set_progress (SpiritGpuRun *run, SpiritGpuRunProgress func, gpointer user_data);

const char *spirit_gpu_run_get_gpu_address (SpiritGpuRun *run);
const char *spirit_gpu_run_get_vm_name (SpiritGpuRun *run);
const char *spirit_gpu_run_get_vm_key (SpiritGpuRun *run);
const char *spirit_gpu_run_get_direction (SpiritGpuRun *run);
gboolean spirit_gpu_run_needs_libvirt (SpiritGpuRun *run);
SpiritVfioPhase spirit_gpu_run_get_phase (SpiritGpuRun *run);
/* The driver the function returns to, as the swap (or its journal) knows it; NULL: unknown. */
const char *spirit_gpu_run_get_host_driver (SpiritGpuRun *run, const char *address);

gboolean spirit_gpu_run_passthrough (SpiritGpuRun *run, GError **error);
gboolean spirit_gpu_run_reclaim (SpiritGpuRun *run, GError **error);
/* After a restart: the journal says the VM has the GPU and it does: keep it, journal kept. */
void spirit_gpu_run_adopt (SpiritGpuRun *run);

/* Journal files: STATE_DIR/gpu-ADDRESS.journal, g_variant_print of an a{sv}. */
char *spirit_gpu_journal_path (const char *state_dir, const char *gpu_address);
GPtrArray *spirit_gpu_journal_list (const char *state_dir);
GVariant *spirit_gpu_journal_read (const char *path, GError **error);

/* Maps libspirit_gpu and GIO errors to org.crom.Spirit.Error.* codes, keeping the message. */
GError *spirit_gpu_error_to_dbus (const GError *error);

G_END_DECLS
