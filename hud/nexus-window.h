/* nexus-window.h: the HUD's main window. */
#pragma once

#include <adwaita.h>

#include "nexus-client.h"
#include "nexus-command-bar.h"
#include "nexus-gpu-page.h"
#include "nexus-vm.h"

G_BEGIN_DECLS

#define NEXUS_TYPE_WINDOW (nexus_window_get_type ())
G_DECLARE_FINAL_TYPE (NexusWindow, nexus_window, NEXUS, WINDOW, AdwApplicationWindow)

NexusWindow *nexus_window_new (GtkApplication *application, NexusClient *client);
NexusClient *nexus_window_get_client (NexusWindow *self);
NexusCommandBar *nexus_window_get_command_bar (NexusWindow *self);
NexusGpuPage *nexus_window_get_gpu_page (NexusWindow *self);
void nexus_window_run_vm_op (NexusWindow *self, NexusVm *vm, NexusVmOp op);
void nexus_window_show_toast (NexusWindow *self, const char *message);

G_END_DECLS
