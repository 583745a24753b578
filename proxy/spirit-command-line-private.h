/* spirit-command-line-private.h: constructors of the command-line tree, for the parser. */
#pragma once

#include "spirit-command-line.h"

G_BEGIN_DECLS

SpiritTarget *spirit_target_new (SpiritTargetKind kind, const char *name, guint column);
SpiritTarget *spirit_target_copy (const SpiritTarget *target);
void spirit_target_free (SpiritTarget *target);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritTarget, spirit_target_free)

SpiritRedirect *spirit_redirect_new (int fd, SpiritRedirectMode mode, guint column);
void spirit_redirect_free (SpiritRedirect *redirect);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritRedirect, spirit_redirect_free)

SpiritCommand *spirit_command_new (guint column);
void spirit_command_free (SpiritCommand *command);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritCommand, spirit_command_free)

SpiritStage *spirit_stage_new (SpiritTarget *target, guint column);
void spirit_stage_free (SpiritStage *stage);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SpiritStage, spirit_stage_free)

SpiritCommandLine *spirit_command_line_new (void);

G_END_DECLS
