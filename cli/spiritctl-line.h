/* spiritctl-line.h: the @target language in spiritctl: "@linux ls", "run LINE", "shell". */
#pragma once

#include "spiritctl-client.h"
#include "spirit-proxy-targets.h"

G_BEGIN_DECLS

/* The aliases of targets.conf and the service's VMs (none if client->bus is NULL). */
SpiritProxyTargets *spiritctl_line_targets (SpiritctlClient *client, GError **error);

/* Parses and runs one line; its status as sh would give it, 2 for a syntax error. */
int spiritctl_line_run (SpiritctlClient *client, SpiritProxyTargets *targets, const char *text);

/* "spiritctl @linux ls -la": the words back into a line. Each word is quoted, so it stays one
 * argument, except the operators (|, >, >>, <, 2>, 2>&1 …), an @target after one, and a
 * control after the target: `spiritctl @linux cat f '|' @spirit wc -l` is a cross-target pipe.
 * After `@target!` the words are the shell's text, joined by blanks. */
char *spiritctl_line_from_words (int argc, char **argv);

/* "spiritctl run LINE" */
int spiritctl_line_command (SpiritctlClient *client, const char *text);

/* "spiritctl shell": lines read with history and completion of targets, until EOF or "exit". */
int spiritctl_shell_command (SpiritctlClient *client);

/* "run" and "shell", the subcommands spiritctl_line_main() takes. */
gboolean spiritctl_line_is_command (const char *word);

/* Runs the line of "spiritctl @target …" (at_line), or "run"/"shell" (args). */
int spiritctl_line_main (gboolean session, const char *address, const char *at_line, guint nargs,
                         char **args);

G_END_DECLS
