/* test-agent-channel.c: finding the agents' channels in a live domain XML. */
#include "spirit-agent-channel.h"

static const char live_xml[]
  = "<domain type='kvm' id='7'><name>vm</name><devices>"
    "<serial type='pty'><source path='/dev/pts/3'/><target port='0'/></serial>"
    "<channel type='unix'>"
    "  <source mode='bind' "
    "path='/var/lib/libvirt/qemu/channel/target/domain-7-vm/org.qemu.guest_agent.0'/>"
    "  <target type='virtio' name='org.qemu.guest_agent.0' state='connected'/>"
    "</channel>"
    "<channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>"
    "<channel type='unix'>"
    "  <source mode='bind' path='/var/lib/libvirt/qemu/channel/target/domain-7-vm/spirit.0'/>"
    "  <target type='virtio' name='spirit.0' state='disconnected'/>"
    "  <alias name='channel1'/>"
    "</channel>"
    "</devices></domain>";

static void
test_live_xml (void)
{
  SpiritAgentChannels channels = { 0 };
  g_autoptr (GError) error = NULL;

  g_assert_true (spirit_agent_channels_parse (live_xml, &channels, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (channels.spirit_socket, ==,
                   "/var/lib/libvirt/qemu/channel/target/domain-7-vm/spirit.0");
  g_assert_true (channels.has_qemu_ga);
  spirit_agent_channels_clear (&channels);
}

static void
test_no_channels_and_bad_xml (void)
{
  SpiritAgentChannels channels = { 0 };
  g_autoptr (GError) error = NULL;

  /* an inactive definition: the channel has no path yet */
  g_assert_true (spirit_agent_channels_parse (
    "<domain><devices><channel type='unix'><source mode='bind'/>"
    "<target type='virtio' name='spirit.0'/></channel></devices></domain>",
    &channels, &error));
  g_assert_null (channels.spirit_socket);
  g_assert_false (channels.has_qemu_ga);
  /* a guestfwd channel named alike is not a virtio port */
  g_assert_true (spirit_agent_channels_parse (
    "<domain><devices><channel type='unix'><source path='/x'/>"
    "<target type='guestfwd' name='spirit.0'/></channel></devices></domain>",
    &channels, &error));
  g_assert_null (channels.spirit_socket);
  g_assert_false (spirit_agent_channels_parse ("<domain><devices>", &channels, &error));
  g_assert_nonnull (error);
  spirit_agent_channels_clear (&channels);
}

static void
test_local_uris (void)
{
  g_assert_true (spirit_agent_channel_uri_is_local ("qemu:///system"));
  g_assert_true (spirit_agent_channel_uri_is_local ("qemu:///session"));
  g_assert_false (spirit_agent_channel_uri_is_local ("qemu+ssh://host/system"));
  g_assert_false (spirit_agent_channel_uri_is_local ("test:///default"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/agent-channel/live-xml", test_live_xml);
  g_test_add_func ("/agent-channel/none-and-bad", test_no_channels_and_bad_xml);
  g_test_add_func ("/agent-channel/local-uris", test_local_uris);
  return g_test_run ();
}
