"""Programs driven through a real terminal in tmux, as a user types at them.

TmuxSession runs any command line in a tmux pane; TmuxBash is an interactive bash with
data/spirit-at.sh sourced (test_proxy_line.py on the test driver, test_proxy_guest.py in a real
guest). Waits read the pane until a text shows, with a deadline.
"""

import os
import subprocess

from spirittest import SOURCE_ROOT, SPIRITCTL, wait_until


class TmuxSession:
    def __init__(self, name, command):
        """command: one line for tmux's shell, e.g. "VAR=x spiritctl shell"."""
        self.server = "%s-%d" % (name, os.getpid())
        self.tmux("new-session", "-d", "-s", self.server, "-x", "200", "-y", "50", command)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.server] + list(args), capture_output=True, text=True,
                              check=True, timeout=30).stdout

    def pane(self):
        """The screen's text (tmux drops the blanks at the end of a line)."""
        return self.tmux("capture-pane", "-p", "-t", self.server)

    def keys(self, *keys):
        """Keys by tmux's names ("Tab", "Up", "C-u", "Enter"); other words are typed as they are."""
        self.tmux("send-keys", "-t", self.server, "--", *keys)

    def type(self, line):
        """Types line and Enter, as keys (tmux's -l: the text is not read as key names)."""
        self.tmux("send-keys", "-t", self.server, "-l", line)
        self.keys("Enter")

    def wait_for(self, text, timeout=30, what=None):
        wait_until(lambda: text in self.pane(), timeout=timeout, what=what or repr(text), poll=0.1)

    def close(self):
        subprocess.run(["tmux", "-L", self.server, "kill-server"], timeout=30)


class TmuxBash(TmuxSession):
    def __init__(self, workdir, bus_address, name):
        rc = os.path.join(workdir, "bashrc-" + name)
        with open(rc, "w") as f:
            f.write("PS1='prompt$ '\nexport PATH=%s:$PATH\nexport SPIRIT_BUS_ADDRESS='%s'\n. %s\n" % (
                os.path.dirname(SPIRITCTL), bus_address, os.path.join(SOURCE_ROOT, "data", "spirit-at.sh")))
        super().__init__(name, "bash --noprofile --rcfile %s -i" % rc)
        self.wait_for("prompt$", what="the bash prompt")
