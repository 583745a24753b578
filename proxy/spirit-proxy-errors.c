/* spirit-proxy-errors.c: "the VM is shut off" and "no agent", with what to do about it. */
#define G_LOG_DOMAIN "spirit-proxy-errors"

#include "spirit-proxy-errors.h"

#include "spirit-error.h"

static const struct
{
  const char *state;
  const char *words;
  const char *control; /* what makes it run again, or NULL */
} states[] = {
  { "shutoff", "shut off", "--start" },
  { "crashed", "crashed", "--start" },
  { "saved", "saved to disk", "--start" },
  { "paused", "paused", "--resume" },
  { "suspended", "suspended by its guest (power management)", NULL },
  { "shutting-down", "shutting down", NULL },
  { "blocked", "blocked", NULL },
  { "no-state", "in no known state", NULL },
  { "unavailable", "unavailable: its libvirt host is not connected", NULL },
};

GError *
spirit_proxy_error_vm_not_running (const SpiritTarget *target, const char *state)
{
  const char *vm = target->vm ? target->vm : target->name;

  for (guint i = 0; i < G_N_ELEMENTS (states); i++)
    {
      if (g_strcmp0 (state, states[i].state) != 0)
        continue;
      if (states[i].control != NULL)
        return g_error_new (SPIRIT_ERROR, SPIRIT_ERROR_INVALID_STATE,
                            "@%s: the VM %s is %s: %s it with '@%s %s'", target->name, vm,
                            states[i].words,
                            g_str_equal (states[i].control, "--resume") ? "resume" : "start",
                            target->name, states[i].control);
      return g_error_new (SPIRIT_ERROR,
                          g_str_equal (state, "unavailable") ? SPIRIT_ERROR_UNAVAILABLE
                                                             : SPIRIT_ERROR_INVALID_STATE,
                          "@%s: the VM %s is %s", target->name, vm, states[i].words);
    }
  return g_error_new (SPIRIT_ERROR, SPIRIT_ERROR_INVALID_STATE,
                      "@%s: the VM %s is not running (%s)", target->name, vm,
                      state ? state : "unknown state");
}

GError *
spirit_proxy_error_no_agent (const SpiritTarget *target, const char *detail)
{
  const char *vm = target->vm ? target->vm : target->name;

  if (detail != NULL && *detail != '\0')
    return g_error_new (SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE,
                        "@%s: no Spirit agent answers in %s: %s (is spirit-agent installed and "
                        "running in the guest?)",
                        target->name, vm, detail);
  return g_error_new (SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE,
                      "@%s: no Spirit agent answers in %s (is spirit-agent installed and running "
                      "in the guest?)",
                      target->name, vm);
}
