/* spirit-command-line.h: the @target command language, parsed into a tree (docs/proxy-syntax.md).
 *
 *   @windows tasklist | findstr chrome > @spirit /tmp/chrome.txt
 *   @linux cat /etc/hosts | @spirit wc -l
 *   @windows --snapshot save before-update
 *   @linux! ls *.txt | sort
 *
 * A line is a list of stages joined by cross-target pipes ("| @target"). A stage runs on one
 * target and is either a control (--pause …) or a pipeline of commands that stays inside the
 * target. A command is an argv (the words after sh-like quoting, with no expansion and no shell),
 * or, when the stage was written `@target! …`, a text for the target's own shell.
 *
 * spiritctl and the HUD share this parser; neither executes anything here.
 */
#pragma once

#include <glib.h>

#include "spirit-proxy-targets.h"

G_BEGIN_DECLS

typedef enum
{
  SPIRIT_TARGET_HOST,   /* @spirit, or no target: the client side, as the calling user */
  SPIRIT_TARGET_VM,     /* a VM name or an alias */
  SPIRIT_TARGET_DOCKER, /* @docker or @docker:<container> */
} SpiritTargetKind;

typedef struct
{
  SpiritTargetKind kind;
  SpiritTargetOs os;
  char *name;      /* as written, without '@' ("windows"); "spirit" for the implicit host */
  char *vm;        /* VM: the VM it names ("Windows-Spirit"); the name itself without a table */
  char *container; /* DOCKER: the container, or NULL for the default one */
  guint column;    /* 1-based column of the '@'; 0 for the implicit host */
} SpiritTarget;

typedef enum
{
  SPIRIT_REDIRECT_INPUT,  /* < path  (fd 0) */
  SPIRIT_REDIRECT_OUTPUT, /* > path, 2> path */
  SPIRIT_REDIRECT_APPEND, /* >> path, 2>> path */
  SPIRIT_REDIRECT_DUP,    /* 2>&1, 1>&2 */
} SpiritRedirectMode;

typedef struct
{
  int fd; /* 0, 1 or 2 */
  SpiritRedirectMode mode;
  SpiritTarget *target; /* where the file is ("> @spirit /tmp/x"); NULL: the stage's own target */
  char *path;           /* NULL for DUP */
  int dup_fd;           /* DUP: the stream fd is joined to */
  guint column;         /* 1-based column of the operator */
} SpiritRedirect;

typedef struct
{
  GStrv env;   /* "NAME=value" assignments written before the command; never NULL */
  GStrv argv;  /* argv[0] is the program; NULL in a shell command */
  char *shell; /* `@target! …`: the text for the target's shell; NULL in an argv command */
  GPtrArray *redirects; /* SpiritRedirect*, in the order written */
  guint column;         /* 1-based column of the command's first word */
} SpiritCommand;

typedef enum
{
  SPIRIT_CONTROL_NONE,
  SPIRIT_CONTROL_PAUSE,
  SPIRIT_CONTROL_RESUME,
  SPIRIT_CONTROL_START,
  SPIRIT_CONTROL_STOP,
  SPIRIT_CONTROL_SNAPSHOT_SAVE,
} SpiritControl;

typedef struct
{
  SpiritTarget *target;
  SpiritControl control; /* a control stage has no commands and is the only stage of its line */
  char *snapshot_name;   /* SNAPSHOT_SAVE: the name given, or NULL */
  GPtrArray *commands;   /* SpiritCommand*: the pipeline inside the target, one or more */
  guint column;          /* 1-based column where the stage starts */
} SpiritStage;

typedef struct
{
  GPtrArray *stages; /* SpiritStage*, joined by cross-target pipes; empty for a blank line */
} SpiritCommandLine;

/* targets may be NULL: then every @name is a VM of that name with an unknown OS.
 * On error, error_column (if not NULL) gets the 1-based column the message also names. */
SpiritCommandLine *spirit_command_line_parse (const char *text,
                                              SpiritProxyTargets *targets,
                                              guint *error_column,
                                              GError **error);
void spirit_command_line_free (SpiritCommandLine *line);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritCommandLine, spirit_command_line_free)

/* A compact, unambiguous form of the tree, for tests and debug output:
 *   "@vm:Windows-Spirit/win {tasklist} | {findstr} {chrome} 1>@spirit{/tmp/x} |> @spirit {wc}" */
char *spirit_command_line_dump (const SpiritCommandLine *line);

/* The line written back in the language, every word quoted: parsing it gives the same tree. */
char *spirit_command_line_to_source (const SpiritCommandLine *line);

/* One word quoted so that the parser reads it back unchanged, for any target's rules. It is
 * also a valid single word for a POSIX sh. */
char *spirit_proxy_quote_word (const char *word);

/* A stage's in-target pipeline as one line for a POSIX sh (`sh -c LINE`), every word
 * single-quoted so that the shell only connects the pipes and opens the files: for a target
 * that can only run one command line, like a Docker exec. A shell stage gives its text as is.
 * Redirections to another target are left out (the caller relays those); NULL for a control. */
char *spirit_stage_to_posix_shell (const SpiritStage *stage);

/* The same for cmd.exe (`cmd /c LINE`, a Windows target): a word with blanks or cmd's
 * operators (& | < > ^ ( ) ") in double quotes, \" for a quote inside, as the C runtime splits
 * argv. cmd itself cannot quote %VAR% on a /c line: such a word may still be expanded. */
char *spirit_stage_to_cmd_line (const SpiritStage *stage);

const char *spirit_control_to_string (SpiritControl control); /* "--pause", "--snapshot save" */

G_END_DECLS
