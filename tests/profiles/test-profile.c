/* test-profile.c: the shipped profiles, lookup order and layering (/etc over datadir),
 * SPIRIT_PROFILES_DIR, and every refusal of a bad profile file. */
#define G_LOG_DOMAIN "test-profile"

#include "fake-host.h"
#include "spirit-profile.h"
#include "spirit-error.h"

static const char *
shipped_dir (void)
{
  const char *dir = g_getenv ("SPIRIT_TEST_PROFILES_DIR");

  g_assert_nonnull (dir);
  return dir;
}

static SpiritProfile *
load_shipped (const char *name)
{
  const char *dirs[] = { shipped_dir (), NULL };
  g_autoptr (GError) error = NULL;
  SpiritProfile *profile = spirit_profile_load (name, dirs, &error);

  g_assert_no_error (error);
  g_assert_nonnull (profile);
  return profile;
}

static void
test_shipped_linux (void)
{
  g_autoptr (SpiritProfile) profile = load_shipped ("linux");

  g_assert_cmpstr (profile->name, ==, "linux");
  g_assert_cmpstr (profile->machine, ==, "q35");
  g_assert_false (profile->efi);
  g_assert_true (profile->direct_kernel_boot);
  g_assert_cmpstr (profile->disk_bus, ==, "virtio");
  g_assert_cmpstr (profile->net_model, ==, "virtio");
  g_assert_cmpstr (profile->video, ==, "virtio");
  g_assert_cmpuint (g_strv_length (profile->hyperv), ==, 0);
  g_assert_true (g_strv_contains ((const char *const *)profile->features, "acpi"));
  g_assert_cmpuint (profile->balloon_period, ==, 5);
  g_assert_cmpint (profile->tpm, ==, SPIRIT_PROFILE_TPM_NO);
  g_assert_nonnull (strstr (profile->sources, "linux.profile"));
}

static void
test_shipped_windows (void)
{
  g_autoptr (SpiritProfile) profile = load_shipped ("windows");

  g_assert_true (profile->efi);
  g_assert_true (profile->secure_boot);
  g_assert_false (profile->direct_kernel_boot);
  g_assert_cmpstr (profile->loader, ==, "/usr/share/OVMF/OVMF_CODE_4M.ms.fd");
  g_assert_cmpstr (profile->nvram_template, ==, "/usr/share/OVMF/OVMF_VARS_4M.ms.fd");
  g_assert_true (profile->localtime);
  g_assert_cmpint (profile->tpm, ==, SPIRIT_PROFILE_TPM_AUTO);
  g_assert_true (g_strv_contains ((const char *const *)profile->hyperv, "spinlocks"));
  g_assert_true (g_strv_contains ((const char *const *)profile->hyperv, "synic"));
  g_assert_cmpstr (profile->disk_cache, ==, "none");
  g_assert_cmpstr (profile->disk_io, ==, "native");
  g_assert_cmpuint (profile->memory_kib, ==, 8192 * 1024);
}

/* /etc first: its keys override the shipped file key by key; a profile only there is new. */
static void
test_layering (void)
{
  g_autoptr (FakeHost) etc = fake_host_new ();
  const char *dirs[] = { etc->root, shipped_dir (), NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritProfile) windows = NULL;
  g_autoptr (SpiritProfile) gaming = NULL;
  g_auto (GStrv) names = NULL;

  fake_host_write (etc, "/windows.profile", "[Devices]\nVideo=virtio\n[Tuning]\nIommu=true\n");
  fake_host_write (etc, "/gaming.profile", "[Machine]\nCpus=8\n");
  fake_host_write (etc, "/README", "not a profile");
  windows = spirit_profile_load ("windows", dirs, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (windows->video, ==, "virtio");
  g_assert_true (windows->iommu);
  /* untouched keys come from the shipped file */
  g_assert_true (windows->secure_boot);
  g_assert_cmpstr (windows->disk_cache, ==, "none");
  g_assert_nonnull (strstr (windows->sources, etc->root));
  g_assert_nonnull (strstr (windows->sources, shipped_dir ()));

  gaming = spirit_profile_load ("gaming", dirs, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gaming->vcpus, ==, 8);
  g_assert_cmpstr (gaming->machine, ==, "q35");

  names = spirit_profile_list (dirs);
  g_assert_cmpuint (g_strv_length (names), ==, 3);
  g_assert_cmpstr (names[0], ==, "gaming");
  g_assert_cmpstr (names[1], ==, "linux");
  g_assert_cmpstr (names[2], ==, "windows");
}

static void
test_unknown_profile (void)
{
  const char *dirs[] = { "/nonexistent/etc", shipped_dir (), NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritProfile) profile = spirit_profile_load ("macos", dirs, &error);

  g_assert_null (profile);
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "No profile named \"macos\""));
  g_assert_nonnull (strstr (error->message, "the available profiles are linux, windows"));
  g_assert_nonnull (strstr (error->message, "/nonexistent/etc"));
  g_clear_error (&error);

  profile = spirit_profile_load ("../linux", dirs, &error);
  g_assert_null (profile);
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "not a profile name"));
}

static void
test_env_dirs (void)
{
  /* meson sets SPIRIT_PROFILES_DIR to the source's data/profiles for every test */
  const char *const *dirs = spirit_profile_default_dirs ();
  g_autoptr (SpiritProfile) profile = spirit_profile_load ("linux", NULL, NULL);

  g_assert_cmpstr (dirs[0], ==, g_getenv ("SPIRIT_PROFILES_DIR"));
  g_assert_nonnull (profile);
}

static void
bad_profile (const char *data, const char *word)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritProfile) profile = spirit_profile_load_from_data ("bad", data, &error);

  g_assert_null (profile);
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
  g_test_message ("%s", error->message);
  if (strstr (error->message, word) == NULL)
    g_error ("\"%s\" not in: %s", word, error->message);
}

static void
test_bad_files (void)
{
  bad_profile ("[Machine]\nTyp=q35\n", "unknown key Typ in [Machine]");
  bad_profile ("[Hardware]\nType=q35\n", "unknown key Type in [Hardware]");
  bad_profile ("[Machine]\nType=i440fx\n", "use one of q35, pc");
  bad_profile ("[Machine]\nFirmware=uefi\n", "use efi or bios");
  bad_profile ("[Machine]\nLoader=OVMF.fd\nFirmware=efi\n", "absolute path");
  bad_profile ("[Machine]\nLoader=/x.fd\n", "need Firmware=efi");
  bad_profile ("[Machine]\nSecureBoot=yes\n", "use true or false");
  bad_profile ("[Machine]\nFeatures=acpi;smm;\n", "smm is not one of acpi, apic, pae, vmcoreinfo");
  bad_profile ("[Machine]\nHyperV=relaxed;turbo;\n", "turbo is not one of");
  bad_profile ("[Machine]\nClock=gmt\n", "use utc, or localtime");
  bad_profile ("[Machine]\nTpm=maybe\n", "use yes, no or auto");
  bad_profile ("[Machine]\nMemory=32\n", "from 64 to");
  bad_profile ("[Machine]\nCpus=0\n", "from 1 to 255");
  bad_profile ("[Machine]\nCpus=four\n", "from 1 to 255");
  bad_profile ("[Devices]\nDiskBus=ide\n", "use one of virtio, sata");
  bad_profile ("[Devices]\nDiskCache=fast\n", "(empty), none, writeback");
  bad_profile ("[Devices]\nVideo=cirrus\n", "use one of virtio, qxl, vga, none");
  bad_profile ("[Devices]\nGraphics=sdl\n", "use one of spice, vnc, none");
  bad_profile ("[Tuning]\nBalloonPeriod=-1\n", "from 0 to 86400");
  bad_profile ("[Machine]\nType=pc\n[Tuning]\nIommu=true\n", "Iommu=true needs Type=q35");
  bad_profile ("[Machine]\nType=pc\nFirmware=efi\nSecureBoot=true\n", "SecureBoot needs SMM");
  bad_profile ("not a key file", "profile bad");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/profile/shipped-linux", test_shipped_linux);
  g_test_add_func ("/profile/shipped-windows", test_shipped_windows);
  g_test_add_func ("/profile/layering", test_layering);
  g_test_add_func ("/profile/unknown", test_unknown_profile);
  g_test_add_func ("/profile/env-dirs", test_env_dirs);
  g_test_add_func ("/profile/bad-files", test_bad_files);
  return g_test_run ();
}
