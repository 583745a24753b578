#!/usr/bin/python3
"""The @target language through spiritctl, against spiritd on the test driver.

Controls (--pause, --resume, --snapshot save, --stop, --start) change the VM through spiritd;
@spirit lines run on the client side as the calling user; aliases come from targets.conf; a
bash session driven through tmux runs "@spirit …" typed at its prompt. Guest commands (@VM
with an agent) are tested in the real-guest tests.
"""

import os
import pwd
import shutil
import subprocess
import tempfile

from spirittest import SPIRITCTL, SpiritTestCase, main, wait_until
from tmuxbash import TmuxBash, TmuxSession


class ProxyLineTest(SpiritTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="spirit-line-")
        os.chmod(self.tmp, 0o755)
        self.saved_env = {k: os.environ.get(k) for k in ("XDG_CONFIG_HOME", "SPIRIT_TARGETS_CONF")}
        os.environ["XDG_CONFIG_HOME"] = os.path.join(self.tmp, "config")
        os.environ["SPIRIT_TARGETS_CONF"] = os.path.join(self.tmp, "system-targets.conf")
        super().setUp()

    def tearDown(self):
        super().tearDown()
        for key, value in self.saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_line(self, line, check=None):
        return self.spiritctl("run", line, check=check)

    def write_aliases(self, text, user=True):
        path = (os.path.join(self.tmp, "config", "spirit", "targets.conf") if user
                else os.environ["SPIRIT_TARGETS_CONF"])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    # ---- controls ----------------------------------------------------------------------

    def test_pause_and_resume(self):
        self.spiritctl("@alpha", "--pause", check=0)
        self.wait_vm_state("alpha", "paused")
        self.run_line("@alpha --resume", check=0)
        self.wait_vm_state("alpha", "running")

    def test_snapshot_save_prints_its_name(self):
        out = self.run_line("@beta --snapshot save before-update", check=0).stdout.decode()
        self.assertEqual(out, "before-update\n")
        wait_until(lambda: "before-update" in self.vm_prop("beta", "Snapshots"), what="the snapshot")
        out = self.spiritctl("@beta", "--snapshot", "save", check=0).stdout.decode().strip()
        wait_until(lambda: out in self.vm_prop("beta", "Snapshots"), what="the snapshot %r" % out)

    def test_stop_and_start(self):
        self.run_line("@alpha --stop", check=0)
        self.wait_vm_state("alpha", "shutoff")
        self.run_line("@alpha --start", check=0)
        self.wait_vm_state("alpha", "running")

    def test_control_in_wrong_state_is_a_clear_error(self):
        result = self.run_line("@beta --resume", check=1)  # beta is shut off
        err = result.stderr.decode()
        self.assertTrue(err.startswith("spirit: @beta: "), err)
        self.assertIn("shutoff", err)
        self.assertEqual(self.vm_prop("beta", "State"), "shutoff")

    # ---- targets -----------------------------------------------------------------------

    def test_unknown_target_lists_the_known_ones(self):
        result = self.run_line("@nosuch ls", check=2)
        err = result.stderr.decode()
        self.assertIn("column 1: unknown target '@nosuch'", err)
        for name in ("@spirit", "@docker", "@alpha", "@beta", "@gamma", "@local/alpha"):
            self.assertIn(name, err)

    def test_host_slash_name_target(self):
        self.run_line("@local/alpha --pause", check=0)
        self.wait_vm_state("alpha", "paused")

    def test_alias_from_the_users_file_wins(self):
        self.write_aliases("[win]\nvm=gamma\nos=windows\n", user=False)
        self.write_aliases("[win]\nvm=alpha\n[lab]\nvm=beta\n")
        self.run_line("@win --pause", check=0)
        self.wait_vm_state("alpha", "paused")
        self.assertEqual(self.vm_prop("gamma", "State"), "paused")  # as the test XML has it
        self.assertIn("@lab", self.run_line("@nope x", check=2).stderr.decode())

    def test_bad_alias_file_names_the_file(self):
        self.write_aliases("[win]\nos=windows\n")
        err = self.run_line("@spirit true", check=2).stderr.decode()
        self.assertIn("targets.conf", err)
        self.assertIn("[win] has no vm= key", err)

    def test_syntax_error_has_a_column(self):
        err = self.run_line("@alpha ls; rm x", check=2).stderr.decode()
        self.assertIn("column 10:", err)

    def test_vm_command_without_an_agent_is_a_clear_error(self):
        # The test driver's VMs have no agent: the stage fails with the target named, status 1.
        result = self.run_line("@alpha uname -r", check=1)
        err = result.stderr.decode()
        self.assertTrue(err.startswith("spirit: @alpha: no Spirit agent answers in alpha"), err)
        self.assertIn("is spirit-agent installed and running in the guest?", err)

    def test_vm_command_in_a_stopped_vm_says_how_to_start_it(self):
        err = self.run_line("@beta uname -r", check=1).stderr.decode()
        self.assertEqual(err, "spirit: @beta: the VM beta is shut off: start it with '@beta --start'\n")
        err = self.run_line("@gamma uname -r", check=1).stderr.decode()
        self.assertEqual(err, "spirit: @gamma: the VM gamma is paused: resume it with '@gamma --resume'\n")

    # ---- the host side -----------------------------------------------------------------

    def test_host_commands_and_statuses(self):
        self.assertEqual(self.run_line("@spirit sh -c 'exit 7'").returncode, 7)
        self.assertEqual(self.run_line("@spirit false | @spirit true").returncode, 0)
        self.assertEqual(self.run_line("@spirit true | @spirit false").returncode, 1)
        result = self.run_line("no-such-program-here x", check=127)
        self.assertIn("no-such-program-here: command not found", result.stderr.decode())
        result = self.run_line("@spirit sh -c 'kill -TERM $$'")
        self.assertEqual(result.returncode, 128 + 15)

    def test_metacharacters_stay_data(self):
        words = ["$(id)", "; touch %s/pwned" % self.tmp, "`id`", "a  b", "*", "&&", "'"]
        out = self.spiritctl("@spirit", "printf", "%s\\n", *words, check=0).stdout.decode()
        self.assertEqual(out.splitlines(), words)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "pwned")))

    def test_cross_target_pipe_and_redirection(self):
        path = os.path.join(self.tmp, "upper.txt")
        self.run_line("@spirit echo hello | @spirit tr a-z A-Z > @spirit %s" % path, check=0)
        with open(path) as f:
            self.assertEqual(f.read(), "HELLO\n")
        self.run_line("@spirit echo again >> @spirit %s" % path, check=0)
        with open(path) as f:
            self.assertEqual(f.read(), "HELLO\nagain\n")
        out = self.run_line("@spirit cat < @spirit %s" % path, check=0).stdout.decode()
        self.assertEqual(out, "HELLO\nagain\n")
        result = self.run_line("@spirit sh -c 'echo out; echo err >&2' 2>&1 | @spirit sort", check=0)
        self.assertEqual(result.stdout.decode(), "err\nout\n")

    def test_host_file_is_owned_by_the_calling_user(self):
        user = pwd.getpwnam("spirit-test")
        home = os.path.join(self.tmp, "home")
        os.mkdir(home)
        os.chown(home, user.pw_uid, user.pw_gid)
        path = os.path.join(home, "mine.txt")
        env = dict(os.environ, SPIRIT_BUS_ADDRESS=self.address, HOME=home, XDG_CONFIG_HOME=home)
        subprocess.run(["setpriv", "--reuid", str(user.pw_uid), "--regid", str(user.pw_gid),
                        "--clear-groups", SPIRITCTL, "run", "@spirit id -un > @spirit " + path],
                       check=True, env=env, timeout=60)
        st = os.stat(path)
        self.assertEqual((st.st_uid, st.st_gid), (user.pw_uid, user.pw_gid))
        with open(path) as f:
            self.assertEqual(f.read(), "spirit-test\n")

    def test_shell_reads_lines(self):
        env = dict(os.environ, SPIRIT_BUS_ADDRESS=self.address)
        script = "@spirit echo one\n\n@alpha --pause\n@spirit echo two | @spirit tr a-z A-Z\nexit\n"
        result = subprocess.run([SPIRITCTL, "shell"], input=script.encode(), capture_output=True,
                                env=env, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.decode(), "one\nTWO\n")
        self.wait_vm_state("alpha", "paused")

    def test_interrupt_ends_the_line_with_sigint_status(self):
        env = dict(os.environ, SPIRIT_BUS_ADDRESS=self.address)
        marker = os.path.join(self.tmp, "started")
        proc = subprocess.Popen([SPIRITCTL, "run", "@spirit sh -c 'touch %s; exec sleep 100'" % marker],
                                env=env)
        try:
            wait_until(lambda: os.path.exists(marker), timeout=30, what="the command to start", poll=0.05)
            proc.send_signal(2)  # Ctrl-C: spiritctl interrupts the command, then ends with its status
            self.assertEqual(proc.wait(timeout=30), 128 + 2)
        finally:
            if proc.poll() is None:
                proc.kill()

    def test_interactive_shell_completes_targets_and_keeps_history(self):
        shell = TmuxSession("spirit-shell", "SPIRIT_BUS_ADDRESS='%s' XDG_STATE_HOME='%s' %s shell" % (
            self.address, self.tmp, SPIRITCTL))
        def wait_prompt():
            # Keys sent before readline has the terminal again would land in the tty's cooked
            # line buffer (an Up arrow as "^[[A"): wait for the empty prompt first.
            wait_until(lambda: shell.pane().rstrip().endswith("spirit>"), timeout=30, what="the prompt",
                       poll=0.1)

        try:
            wait_prompt()
            shell.keys("@gam", "Tab")
            shell.wait_for("spirit> @gamma", what="@gamma completed")
            shell.keys("--resume", "Enter")
            shell.wait_for("spirit> @gamma --resume", what="the blank after it")
            self.wait_vm_state("gamma", "running")
            wait_prompt()
            shell.type("@spirit echo 'sh-$((1+1))'")
            shell.wait_for("\nsh-$((1+1))\n", what="the output (no shell expansion)")
            wait_prompt()
            # Up recalls the line before, and the history is kept in $XDG_STATE_HOME/spirit/history
            shell.keys("Up", "Up")
            wait_until(lambda: shell.pane().rstrip().endswith("spirit> @gamma --resume"), timeout=30,
                       what="the history", poll=0.1)
            shell.keys("C-u", "exit", "Enter")
            wait_until(lambda: os.path.exists(os.path.join(self.tmp, "spirit", "history")), timeout=30,
                       what="the history file", poll=0.1)
        finally:
            shell.close()
        with open(os.path.join(self.tmp, "spirit", "history")) as f:
            self.assertIn("@gamma --resume", f.read())

    def test_bash_prompt_runs_at_lines(self):
        """A real bash in tmux, with data/spirit-at.sh sourced: '@spirit echo …' typed at the prompt."""
        bash = TmuxBash(self.tmp, self.address, "spirit-at")
        try:
            bash.type("@spirit echo hi-from-$((6*7))")  # bash expands $((…)) before spiritctl runs
            bash.wait_for("\nhi-from-42\n", what="the output line")
            bash.type("@alpha --pause")
            self.wait_vm_state("alpha", "paused")
            bash.type("not-a-command-xyz; echo rc=$?")
            bash.wait_for("rc=127", what="bash's own not-found")
            self.assertIn("not-a-command-xyz: command not found", bash.pane())
        finally:
            bash.close()

if __name__ == "__main__":
    main()
