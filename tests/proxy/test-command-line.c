/* test-command-line.c: the @target language, one table: each line with its tree or its error.
 *
 * A tree is written in the compact form of spirit_command_line_dump():
 *   @spirit | @vm:NAME[/win] | @docker[:C]   the stage's target (the VM after alias resolution)
 *   {word}  env{NAME=value}  sh{text}        argv words, assignments, a shell stage's text
 *   " | "  inside a target, " |> " across targets
 *   " 1>{path}", " 2>>@spirit{path}", " 0<{path}", " 2>&1"   redirections (fd, target, path)
 * An error is its 1-based column and a part of its message. Every line that parses is also
 * written back with spirit_command_line_to_source() and must parse to the same tree.
 */
#define G_LOG_DOMAIN "test-command-line"

#include "spirit-command-line.h"
#include "spirit-error.h"
#include "spirit-proxy-errors.h"

typedef struct
{
  const char *line;
  const char *tree;  /* NULL for an error */
  guint column;      /* the error's column */
  const char *error; /* a part of the error's message */
} Case;

// clang-format off
#define OK(l, t) { l, t, 0, NULL }
#define ERR(l, c, e) { l, NULL, c, e }
// clang-format on

#define LINUX "@vm:Linux-Spirit "
#define WIN "@vm:Windows-Spirit/win "

static const Case basics[] = {
  OK ("", ""),
  OK ("   \t ", ""),
  OK ("# just a comment", ""),
  OK ("ls -la", "@spirit {ls} {-la}"),
  OK ("@spirit ls -la", "@spirit {ls} {-la}"),
  OK ("@linux ls -la", LINUX "{ls} {-la}"),
  OK ("@Linux-Spirit uname -a", LINUX "{uname} {-a}"),
  OK ("@LINUX true", LINUX "{true}"),
  OK ("@Spirit true", "@spirit {true}"),
  OK ("@docker ps", "@docker {ps}"),
  OK ("@docker:web uname -a", "@docker:web {uname} {-a}"),
  OK ("@docker:my_app.1-x id", "@docker:my_app.1-x {id}"),
  OK ("@lab/web id", "@vm:lab/web {id}"),
  OK ("  @linux   ls   -la  ", LINUX "{ls} {-la}"),
  OK ("@linux\tls\t-la", LINUX "{ls} {-la}"),
  OK ("@linux echo @home", LINUX "{echo} {@home}"),
  OK ("@linux echo é ünï 日本", LINUX "{echo} {é} {ünï} {日本}"),
};

static const Case quoting[] = {
  OK ("@linux echo 'a b' \"c d\"", LINUX "{echo} {a b} {c d}"),
  OK ("@linux echo a\\ b", LINUX "{echo} {a b}"),
  OK ("@linux echo 'it'\\''s'", LINUX "{echo} {it's}"),
  OK ("@linux echo \"say \\\"hi\\\"\"", LINUX "{echo} {say \"hi\"}"),
  OK ("@linux echo \"a\\\\b\"", LINUX "{echo} {a\\b}"),
  OK ("@linux echo \"a\\nb\"", LINUX "{echo} {a\\nb}"),
  OK ("@linux printf 'a\\nb'", LINUX "{printf} {a\\nb}"),
  OK ("@linux echo \\a\\b", LINUX "{echo} {ab}"),
  OK ("@linux echo ''", LINUX "{echo} {}"),
  OK ("@linux echo \"\" x", LINUX "{echo} {} {x}"),
  OK ("@linux echo a''b", LINUX "{echo} {ab}"),
  OK ("@linux echo 'a'\"b\"c", LINUX "{echo} {abc}"),
  OK ("@linux echo \\$HOME '$HOME' \"\\$HOME\"", LINUX "{echo} {$HOME} {$HOME} {$HOME}"),
  OK ("@linux echo $ 5$ a$/b $.", LINUX "{echo} {$} {5$} {a$/b} {$.}"),
  OK ("@linux echo \"cost $\"", LINUX "{echo} {cost $}"),
  OK ("@linux echo \\`id\\` '`id`'", LINUX "{echo} {`id`} {`id`}"),
  OK ("@linux echo *.txt ?x [ab]", LINUX "{echo} {*.txt} {?x} {[ab]}"),
  OK ("@linux echo a~b '~' \\~ \"~\"", LINUX "{echo} {a~b} {~} {~} {~}"),
  OK ("@linux echo a#b", LINUX "{echo} {a#b}"),
  OK ("@linux echo a #comment | @spirit x", LINUX "{echo} {a}"),
  OK ("@linux echo '#x' \\#y", LINUX "{echo} {#x} {#y}"),
  OK ("@linux echo {a,b} !x a=b", LINUX "{echo} {{a,b}} {!x} {a=b}"),
  OK ("@linux echo 'a|b' \"c>d\" e\\;f g\\&h", LINUX "{echo} {a|b} {c>d} {e;f} {g&h}"),
  OK ("@linux echo '$(id)' ';' '|' '&&' '`id`'", LINUX "{echo} {$(id)} {;} {|} {&&} {`id`}"),
  OK ("@linux echo a\\\nb", LINUX "{echo} {ab}"),
  OK ("@linux echo \"a\\\nb\"", LINUX "{echo} {ab}"),
  OK ("@linux echo 'multi\nline'", LINUX "{echo} {multi\nline}"),
  OK ("@linux echo \\é", LINUX "{echo} {é}"),
};

static const Case env[] = {
  OK ("@linux FOO=bar env", LINUX "env{FOO=bar} {env}"),
  OK ("@linux A=1 B='x y' _c=\"$\" cmd C=3", LINUX "env{A=1} env{B=x y} env{_c=$} {cmd} {C=3}"),
  OK ("@linux A= cmd", LINUX "env{A=} {cmd}"),
  OK ("@linux 'A'=1 cmd", LINUX "{A=1} {cmd}"),
  OK ("@linux A\\=1 cmd", LINUX "{A=1} {cmd}"),
  OK ("@linux 1A=x cmd", LINUX "{1A=x} {cmd}"),
  OK ("@linux A-B=x cmd", LINUX "{A-B=x} {cmd}"),
  OK ("@linux A='~/x' cmd", LINUX "env{A=~/x} {cmd}"),
  ERR ("@linux A=~/x cmd", 10, "'~' (a home directory) is expanded by a shell"),
  ERR ("@linux FOO=1", 13, "expected a command after the assignment"),
  ERR ("@linux FOO=1 | wc", 14, "expected a command after the assignment"),
};

static const Case windows[] = {
  OK ("@windows dir C:\\Users", WIN "{dir} {C:\\Users}"),
  OK ("@windows dir \"C:\\Program Files\\\"", WIN "{dir} {C:\\Program Files\\}"),
  OK ("@windows dir 'C:\\Program Files\\'", WIN "{dir} {C:\\Program Files\\}"),
  OK ("@windows echo a\\ b", WIN "{echo} {a\\} {b}"),
  OK ("@windows echo 'say \"hi\"' \"it's\"", WIN "{echo} {say \"hi\"} {it's}"),
  OK ("@windows echo $env:PATH %PATH% `x` ~ C$", WIN "{echo} {$env:PATH} {%PATH%} {`x`} {~} {C$}"),
  OK ("@windows tasklist | findstr chrome", WIN "{tasklist} | {findstr} {chrome}"),
  OK ("@windows start notepad.exe", WIN "{start} {notepad.exe}"),
  OK ("@windows type C:\\a.txt > D:\\b.txt", WIN "{type} {C:\\a.txt} 1>{D:\\b.txt}"),
  OK ("@Windows-Spirit dir \\\\server\\share", WIN "{dir} {\\\\server\\share}"),
  OK ("@windows findstr /C:\"a b\" x.txt", WIN "{findstr} {/C:a b} {x.txt}"),
  ERR ("@windows echo a\\\"b", 17, "unterminated double quote"),
  ERR ("@windows set X=C:\\x& ", 20, "'&' runs a command in the background"),
  ERR ("@windows echo \"unterminated", 15, "unterminated double quote"),
  ERR ("@windows echo 'C:\\", 15, "unterminated single quote"),
};

static const Case pipes[] = {
  OK ("ls | wc -l", "@spirit {ls} | {wc} {-l}"),
  OK ("@linux ps aux | grep ssh | wc -l", LINUX "{ps} {aux} | {grep} {ssh} | {wc} {-l}"),
  OK ("@linux ls|grep x", LINUX "{ls} | {grep} {x}"),
  OK ("@linux cat f | @spirit wc -l", LINUX "{cat} {f} |> @spirit {wc} {-l}"),
  OK ("ls|@linux wc", "@spirit {ls} |> " LINUX "{wc}"),
  OK ("@linux a | b | @windows c | d | @spirit e",
      LINUX "{a} | {b} |> " WIN "{c} | {d} |> @spirit {e}"),
  OK ("cat f | @docker:web sort | @spirit uniq -c",
      "@spirit {cat} {f} |> @docker:web {sort} |> @spirit {uniq} {-c}"),
  OK ("@linux ls | '@x'", LINUX "{ls} | {@x}"),
  OK ("@linux cat C:\\x | @windows findstr C:\\x", LINUX "{cat} {C:x} |> " WIN "{findstr} {C:\\x}"),
  ERR ("ls |", 5, "expected a command after '|'"),
  ERR ("ls | | wc", 6, "expected a command before '|'"),
  ERR ("| wc", 1, "expected a command before '|'"),
  ERR ("@linux ls | @spirit", 20, "expected a command or a control"),
  ERR ("@linux ls | @nope wc", 13, "unknown target '@nope'"),
};

static const Case redirects[] = {
  OK ("@linux ls > out.txt", LINUX "{ls} 1>{out.txt}"),
  OK ("@linux ls >out.txt", LINUX "{ls} 1>{out.txt}"),
  OK ("@linux ls >> log", LINUX "{ls} 1>>{log}"),
  OK ("@linux sort < in.txt", LINUX "{sort} 0<{in.txt}"),
  OK ("@linux sort 0< in.txt", LINUX "{sort} 0<{in.txt}"),
  OK ("< in sort", "@spirit {sort} 0<{in}"),
  OK ("@linux make 2> err.log", LINUX "{make} 2>{err.log}"),
  OK ("@linux make 2>> err.log", LINUX "{make} 2>>{err.log}"),
  OK ("@linux make > log 2>&1", LINUX "{make} 1>{log} 2>&1"),
  OK ("@linux make 2>&1 > log", LINUX "{make} 2>&1 1>{log}"),
  OK ("@linux make 2>& 1", LINUX "{make} 2>&1"),
  OK ("@linux make 2>&1 | tee log", LINUX "{make} 2>&1 | {tee} {log}"),
  OK ("@linux echo oops 1>&2", LINUX "{echo} {oops} 1>&2"),
  OK ("@linux echo oops >&2", LINUX "{echo} {oops} 1>&2"),
  OK ("@linux echo a2>x", LINUX "{echo} {a2} 1>{x}"),
  OK ("@linux ls > 'my file'", LINUX "{ls} 1>{my file}"),
  OK ("@linux ls > '@x'", LINUX "{ls} 1>{@x}"),
  OK ("@windows ipconfig > @spirit /tmp/win-ip.txt", WIN "{ipconfig} 1>@spirit{/tmp/win-ip.txt}"),
  OK ("@linux cat /etc/hosts > @windows C:\\hosts.txt",
      LINUX "{cat} {/etc/hosts} 1>@vm:Windows-Spirit/win{C:\\hosts.txt}"),
  OK ("@windows type C:\\x > @linux /tmp/a\\ b", WIN "{type} {C:\\x} 1>@vm:Linux-Spirit{/tmp/a b}"),
  OK ("@linux sort < @spirit /tmp/in > @spirit /tmp/out",
      LINUX "{sort} 0<@spirit{/tmp/in} 1>@spirit{/tmp/out}"),
  OK ("@spirit sort < @linux /etc/hosts", "@spirit {sort} 0<@vm:Linux-Spirit{/etc/hosts}"),
  OK ("@linux ls >> @linux /tmp/log", LINUX "{ls} 1>>@vm:Linux-Spirit{/tmp/log}"),
  OK ("@linux ls >@docker:web   /tmp/x", LINUX "{ls} 1>@docker:web{/tmp/x}"),
  OK ("@linux cmd 2> @spirit /tmp/err", LINUX "{cmd} 2>@spirit{/tmp/err}"),
  OK ("@linux a 2>/dev/null | b", LINUX "{a} 2>{/dev/null} | {b}"),
  OK ("@linux a < in | b | c > out", LINUX "{a} 0<{in} | {b} | {c} 1>{out}"),
  OK ("@linux a | b 2>&1 | @spirit c", LINUX "{a} | {b} 2>&1 |> @spirit {c}"),
  ERR ("@linux ls >", 12, "expected a path after '>'"),
  ERR ("@linux ls > | x", 13, "expected a path after '>'"),
  ERR ("@linux ls > #x", 13, "expected a path after '>'"),
  ERR ("@linux ls > @spirit", 20, "expected a blank and a path after '@spirit'"),
  ERR ("@linux ls > @spirit ", 21, "expected a path after '> @spirit'"),
  ERR ("@linux ls > ''", 13, "the path after '>' is empty"),
  ERR ("@linux ls > ~/x", 13, "'~' (a home directory)"),
  ERR ("@linux cat << EOF", 12, "'<<' starts a here-document, which needs a shell"),
  ERR ("@linux cat <> x", 12, "'<>' is not supported"),
  ERR ("@linux cat >| x", 12, "'>|' is not supported"),
  ERR ("@linux ls 3> x", 11, "only 0, 1 and 2 can be redirected"),
  ERR ("@linux ls 10> x", 11, "only 0, 1 and 2 can be redirected"),
  ERR ("@linux ls 2>&3", 14, "expected 1 or 2 after '>&'"),
  ERR ("@linux ls 2>&-", 14, "closing a stream ('>&-') is not supported"),
  ERR ("@linux ls 2>&", 14, "expected 1 or 2 after '>&'"),
  ERR ("@linux ls 2>&2", 11, "joins a stream to itself"),
  ERR ("@linux ls 1< x", 11, "only standard input (0) can be redirected with '<'"),
  ERR ("@linux ls 0> x", 11, "standard input (0) can only be redirected with '<'"),
  ERR ("@linux ls > a > b", 15, "standard output is already redirected at column 11"),
  ERR ("@linux ls 2>&1 2>e", 16, "standard error is already redirected at column 11"),
  ERR ("@linux a > x | b", 10, "only the last command of a pipeline can redirect its output"),
  ERR ("@linux a | b < x", 14, "only the first command of a pipeline can read from '<'"),
  ERR ("@linux a > x | @spirit b", 10, "nothing would reach the pipe to the next target"),
  ERR ("@linux a 1>&2 | @spirit b", 10, "nothing would reach the pipe"),
  ERR ("@linux a | @spirit b < x", 22, "standard input already comes from the pipe"),
  ERR ("@linux a 2> @spirit e | b", 10, "a redirection to another target must be on the last"),
  ERR ("@linux ls > @foo x", 13, "unknown target '@foo'"),
  ERR ("@linux ls > @spirit! x", 20, "a redirection cannot ask for a shell"),
  ERR ("@linux ls > @spirit:x y", 20, "only @docker takes ':<container>'"),
  ERR ("@linux > x", 11, "expected a command for the redirection"),
};

static const Case controls[] = {
  OK ("@windows --pause", WIN "--pause"),
  OK ("@windows --resume", WIN "--resume"),
  OK ("@windows --start", WIN "--start"),
  OK ("@linux --stop", LINUX "--stop"),
  OK ("@windows --snapshot save", WIN "--snapshot save"),
  OK ("@windows --snapshot save before-update", WIN "--snapshot save {before-update}"),
  OK ("@windows --snapshot save 'my snap'", WIN "--snapshot save {my snap}"),
  OK ("@windows --snapshot save C:\\x", WIN "--snapshot save {C:\\x}"),
  OK ("@windows --pause          # Congelar Windows", WIN "--pause"),
  OK ("@windows --snapshot save  # Salvar estado", WIN "--snapshot save"),
  OK ("@linux '--pause'", LINUX "{--pause}"),
  ERR ("@spirit --pause", 9, "'--pause' acts on a VM, and @spirit is the host"),
  ERR ("--pause", 1, "acts on a VM, and @spirit is the host"),
  ERR ("@docker --stop", 9, "'--stop' acts on a VM, and @docker is a container target"),
  ERR ("@windows --frobnicate", 10, "unknown control '--frobnicate': expected --pause, --resume"),
  ERR ("@windows --pause now", 18, "expected the end of the line after '--pause'"),
  ERR ("@windows --snapshot", 20, "expected 'save' after --snapshot"),
  ERR ("@windows --snapshot load x", 21, "expected 'save' after --snapshot, not 'load'"),
  ERR ("@windows --snapshot save a b",
       28,
       "expected the end of the line after '--snapshot save NAME'"),
  ERR ("@windows --snapshot save ''", 26, "the snapshot name is empty"),
  ERR ("@windows --pause | @linux ls", 18, "a control cannot be piped or redirected"),
  ERR ("@windows --pause > x", 18, "a control cannot be piped or redirected"),
  ERR ("@linux ls | @windows --pause", 22, "a control cannot be piped"),
};

static const Case shell[] = {
  OK ("@linux! ls *.txt | sort", LINUX "sh{ls *.txt | sort}"),
  OK ("@linux!   echo $HOME; ls ~  ", LINUX "sh{echo $HOME; ls ~}"),
  OK ("@linux!ls", LINUX "sh{ls}"),
  OK ("@linux! ls | wc -l | @spirit cat", LINUX "sh{ls | wc -l} |> @spirit {cat}"),
  OK ("@linux! ls *.txt > @spirit /tmp/list", LINUX "sh{ls *.txt} 1>@spirit{/tmp/list}"),
  OK ("@linux! sort >> @spirit /tmp/a 2> @spirit /tmp/e",
      LINUX "sh{sort} 1>>@spirit{/tmp/a} 2>@spirit{/tmp/e}"),
  OK ("@linux! sort 2> @spirit /tmp/e | @spirit wc",
      LINUX "sh{sort} 2>@spirit{/tmp/e} |> @spirit {wc}"),
  OK ("@linux! cat <<@x", LINUX "sh{cat <<@x}"),
  OK ("@linux! a 2>&1 |@spirit b", LINUX "sh{a 2>&1} |> @spirit {b}"),
  OK ("@windows! a || @b && c", WIN "sh{a || @b && c}"),
  ERR ("@linux! sort > @spirit /tmp/a | @spirit wc", 14, "nothing would reach the pipe"),
  OK ("@linux! cat < @spirit /etc/hosts", LINUX "sh{cat} 0<@spirit{/etc/hosts}"),
  OK ("@linux! echo '| @spirit x'", LINUX "sh{echo '| @spirit x'}"),
  OK ("@linux! echo \"$(ls | @x)\" `a | @b` $(echo \")\" | @c)",
      LINUX "sh{echo \"$(ls | @x)\" `a | @b` $(echo \")\" | @c)}"),
  OK ("@linux! echo ${x:-| @y} (a | @b)", LINUX "sh{echo ${x:-| @y} (a | @b)}"),
  OK ("@linux! echo a > /tmp/f 2>&1", LINUX "sh{echo a > /tmp/f 2>&1}"),
  OK ("@linux! echo a \\| @spirit", LINUX "sh{echo a \\| @spirit}"),
  OK ("@linux! a || @b", LINUX "sh{a || @b}"),
  OK ("@linux! ls # comment | @spirit x", LINUX "sh{ls}"),
  OK ("@linux! echo a#b | @spirit cat", LINUX "sh{echo a#b} |> @spirit {cat}"),
  OK ("@linux! echo a\\ > @spirit x", LINUX "sh{echo a\\ } 1>@spirit{x}"),
  OK ("@linux! cat 2> @spirit /tmp/e", LINUX "sh{cat} 2>@spirit{/tmp/e}"),
  OK ("@linux! echo a2> @spirit x", LINUX "sh{echo a2} 1>@spirit{x}"),
  OK ("@windows! dir *.txt | findstr a", WIN "sh{dir *.txt | findstr a}"),
  OK ("@windows! echo \"a | @b\" | @spirit cat", WIN "sh{echo \"a | @b\"} |> @spirit {cat}"),
  OK ("@windows! echo a^|@b", WIN "sh{echo a^|@b}"),
  OK ("@windows! echo it's 100% # not a comment", WIN "sh{echo it's 100% # not a comment}"),
  OK ("@windows! (echo a | @b) | @spirit more", WIN "sh{(echo a | @b)} |> @spirit {more}"),
  OK ("@windows! dir C:\\ > @spirit /tmp/dir.txt", WIN "sh{dir C:\\} 1>@spirit{/tmp/dir.txt}"),
  OK ("@windows! echo \"open | @spirit x", WIN "sh{echo \"open | @spirit x}"),
  OK ("@docker:web! ps aux | grep x", "@docker:web sh{ps aux | grep x}"),
  OK ("@spirit! ls ~", "@spirit sh{ls ~}"),
  OK ("@linux ls | @linux! sort -u", LINUX "{ls} |> " LINUX "sh{sort -u}"),
  ERR ("@linux!", 8, "expected a command for the shell after '@linux!'"),
  ERR ("@linux!   # only a comment", 11, "expected a command for the shell after '@linux!'"),
  ERR ("@linux! | @spirit x", 9, "expected a command for the shell"),
  ERR ("@linux! echo 'abc", 14, "unterminated single quote in the shell text"),
  ERR ("@linux! echo $(ls", 14, "unterminated '(' in the shell text"),
  ERR ("@linux! echo ${x", 14, "unterminated '${' in the shell text"),
  ERR ("@linux! echo \"abc", 14, "unterminated double quote in the shell text"),
  ERR ("@linux! echo `abc", 14, "unterminated '`' in the shell text"),
  ERR ("@linux! echo abc\\", 17, "a backslash at the end of the line escapes nothing"),
  ERR ("@windows! echo a^", 17, "'^' at the end of the line escapes nothing"),
  ERR ("@linux! ls > @spirit /x extra", 25, "expected '| @target', a redirection to a target"),
  ERR ("@linux! ls > @spirit /x | wc", 25, "expected '| @target'"),
  ERR ("@linux! ls > @nope /x", 14, "unknown target '@nope'"),
};

static const Case errors[] = {
  ERR ("@foo ls",
       1,
       "unknown target '@foo': the known targets are @spirit, @docker, @linux, @Linux-Spirit, "
       "@windows, @Windows-Spirit, @lab/web"),
  ERR ("@ ls", 1, "expected a target name after '@'"),
  ERR ("@linux",
       7,
       "expected a command or a control (--pause, --resume, --start, --stop or "
       "--snapshot save [NAME]) after '@linux'"),
  ERR ("@linux   # c", 10, "expected a command or a control"),
  ERR ("@linux:x ls", 7, "only @docker takes ':<container>'"),
  ERR ("@docker: ls", 9, "expected a container name after '@docker:'"),
  ERR ("@linux'ls'", 7, "expected a blank after '@linux'"),
  ERR ("@linux|ls", 7, "expected a blank after '@linux'"),
  ERR ("@docker:web|ls", 12, "expected a blank after '@docker:web'"),
  ERR ("@linux echo 'abc", 13, "unterminated single quote: expected a closing '"),
  ERR ("@linux echo \"abc", 13, "unterminated double quote: expected a closing \""),
  ERR ("@linux echo abc\\", 16, "a backslash at the end of the line escapes nothing"),
  ERR ("@linux echo $HOME",
       13,
       "'$H' starts an expansion, which needs a shell: quote it, or "
       "hand the line to the target's shell with '@linux! …'"),
  ERR ("@linux echo ${x}", 13, "'${' starts an expansion"),
  ERR ("@linux echo $(id)", 13, "'$(' starts an expansion"),
  ERR ("@linux echo \"$(id)\"", 14, "'$(' starts an expansion"),
  ERR ("@linux echo \"a $x\"", 16, "'$x' starts an expansion"),
  ERR ("@linux echo `id`", 13, "'`' starts a command substitution, which needs a shell"),
  ERR ("@linux echo \"`id`\"", 14, "'`' starts a command substitution"),
  ERR ("@linux echo $'a'", 13, "'$'' starts an expansion"),
  ERR ("@linux echo $1 $?", 13, "'$1' starts an expansion"),
  ERR ("@linux echo a$?", 14, "'$?' starts an expansion"),
  ERR ("echo $HOME", 6, "hand the line to the target's shell with '@spirit! …'"),
  ERR ("@docker:web echo $x", 18, "with '@docker:web! …'"),
  ERR ("@linux ls ~", 11, "'~' (a home directory) is expanded by a shell"),
  ERR ("@linux ls ~/x", 11, "'~' (a home directory)"),
  ERR ("@linux a ; b", 10, "';' separates commands, which needs a shell"),
  ERR ("@linux a;b", 9, "';' separates commands"),
  ERR ("@linux a && b", 10, "'&&' joins commands, which needs a shell"),
  ERR ("@linux a || b", 10, "'||' joins commands, which needs a shell"),
  ERR ("@linux a & ", 10, "'&' runs a command in the background, which needs a shell"),
  ERR ("@linux a |& b", 10, "'|&' pipes standard error"),
  ERR ("@linux (a)", 8, "'(' groups commands"),
  ERR ("@linux a)", 9, "')' groups commands"),
  ERR ("@windows dir & echo", 14, "'&' runs a command in the background"),
  ERR ("@linux a\nb",
       9,
       "a line holds one command line; to give several to the target's shell, "
       "use '@linux! …'"),
  ERR ("@linux echo \xff", 13, "the line is not valid UTF-8"),
  ERR ("@linux echo é \"x", 15, "unterminated double quote"),
  ERR ("@linux echo 日本 'x", 16, "unterminated single quote"),
};

static SpiritProxyTargets *
make_targets (void)
{
  SpiritProxyTargets *targets = spirit_proxy_targets_new ();

  g_assert_true (
    spirit_proxy_targets_add (targets, "linux", "Linux-Spirit", SPIRIT_TARGET_OS_POSIX, NULL));
  g_assert_true (spirit_proxy_targets_add (targets, "Linux-Spirit", "Linux-Spirit",
                                           SPIRIT_TARGET_OS_POSIX, NULL));
  g_assert_true (spirit_proxy_targets_add (targets, "windows", "Windows-Spirit",
                                           SPIRIT_TARGET_OS_WINDOWS, NULL));
  g_assert_true (spirit_proxy_targets_add (targets, "Windows-Spirit", "Windows-Spirit",
                                           SPIRIT_TARGET_OS_WINDOWS, NULL));
  g_assert_true (
    spirit_proxy_targets_add (targets, "lab/web", "lab/web", SPIRIT_TARGET_OS_POSIX, NULL));
  return targets;
}

/* Returns a description of what went wrong, or NULL. */
static char *
check_case (SpiritProxyTargets *targets, const Case *c)
{
  g_autoptr (GError) error = NULL;
  guint column = 0;
  g_autoptr (SpiritCommandLine) line
    = spirit_command_line_parse (c->line, targets, &column, &error);
  g_autofree char *tree = NULL;
  g_autofree char *source = NULL;
  g_autoptr (SpiritCommandLine) again = NULL;
  g_autofree char *tree_again = NULL;
  g_autoptr (GError) error_again = NULL;

  if (c->tree == NULL && c->error == NULL)
    return line == NULL ? NULL : g_strdup_printf ("parsed, expected an error");
  if (c->error != NULL)
    {
      if (line != NULL)
        {
          tree = spirit_command_line_dump (line);
          return g_strdup_printf ("parsed as [%s], expected an error", tree);
        }
      if (!g_error_matches (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT))
        return g_strdup_printf ("wrong error domain/code for [%s]", error->message);
      if (column != c->column || strstr (error->message, c->error) == NULL
          || !g_str_has_prefix (error->message, "column "))
        return g_strdup_printf ("error [%s] (column %u), expected column %u with [%s]",
                                error->message, column, c->column, c->error);
      return NULL;
    }
  if (line == NULL)
    return g_strdup_printf ("error [%s], expected [%s]", error->message, c->tree);
  tree = spirit_command_line_dump (line);
  if (!g_str_equal (tree, c->tree))
    return g_strdup_printf ("tree [%s], expected [%s]", tree, c->tree);

  source = spirit_command_line_to_source (line);
  again = spirit_command_line_parse (source, targets, NULL, &error_again);
  if (again == NULL)
    return g_strdup_printf ("written back as [%s], which fails: %s", source, error_again->message);
  tree_again = spirit_command_line_dump (again);
  if (!g_str_equal (tree_again, tree))
    return g_strdup_printf ("written back as [%s], which parses as [%s]", source, tree_again);
  return NULL;
}

static void
run_table (gconstpointer data)
{
  const Case *cases = ((const Case *const *)data)[0];
  gsize n = GPOINTER_TO_SIZE (((gconstpointer const *)data)[1]);
  g_autoptr (SpiritProxyTargets) targets = make_targets ();
  guint failures = 0;

  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *problem = check_case (targets, &cases[i]);
      if (problem != NULL)
        {
          g_test_message ("[%s]: %s", cases[i].line, problem);
          failures++;
        }
    }
  g_test_message ("%" G_GSIZE_FORMAT " lines, %u failed", n, failures);
  g_assert_cmpuint (failures, ==, 0);
}

static void
test_without_targets (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritCommandLine) line
    = spirit_command_line_parse ("@Any-VM ls 'C:\\x' | @spirit wc", NULL, NULL, &error);
  g_autofree char *tree = NULL;

  g_assert_no_error (error);
  tree = spirit_command_line_dump (line);
  g_assert_cmpstr (tree, ==, "@vm:Any-VM {ls} {C:\\x} |> @spirit {wc}");
}

static void
test_tree_fields (void)
{
  g_autoptr (SpiritProxyTargets) targets = make_targets ();
  g_autoptr (SpiritCommandLine) line = spirit_command_line_parse (
    "@windows tasklist | findstr chrome 2> @spirit /tmp/x | @linux wc -l", targets, NULL, NULL);
  SpiritStage *stage;
  SpiritCommand *command;
  SpiritRedirect *redirect;

  g_assert_nonnull (line);
  g_assert_cmpuint (line->stages->len, ==, 2);
  stage = g_ptr_array_index (line->stages, 0);
  g_assert_cmpint (stage->target->kind, ==, SPIRIT_TARGET_VM);
  g_assert_cmpint (stage->target->os, ==, SPIRIT_TARGET_OS_WINDOWS);
  g_assert_cmpstr (stage->target->name, ==, "windows");
  g_assert_cmpstr (stage->target->vm, ==, "Windows-Spirit");
  g_assert_cmpuint (stage->target->column, ==, 1);
  g_assert_cmpuint (stage->commands->len, ==, 2);
  command = g_ptr_array_index (stage->commands, 1);
  g_assert_cmpuint (command->column, ==, 21);
  g_assert_cmpstrv (command->argv, ((const char *const[]){ "findstr", "chrome", NULL }));
  g_assert_cmpuint (g_strv_length (command->env), ==, 0);
  g_assert_null (command->shell);
  g_assert_cmpuint (command->redirects->len, ==, 1);
  redirect = g_ptr_array_index (command->redirects, 0);
  g_assert_cmpint (redirect->fd, ==, 2);
  g_assert_cmpint (redirect->mode, ==, SPIRIT_REDIRECT_OUTPUT);
  g_assert_cmpint (redirect->target->kind, ==, SPIRIT_TARGET_HOST);
  g_assert_cmpstr (redirect->path, ==, "/tmp/x");
  g_assert_cmpuint (redirect->column, ==, 36);
  stage = g_ptr_array_index (line->stages, 1);
  g_assert_cmpuint (stage->column, ==, 56);
  g_assert_cmpstr (stage->target->vm, ==, "Linux-Spirit");
}

static void
test_targets_table (void)
{
  g_autoptr (SpiritProxyTargets) targets = make_targets ();
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) names = NULL;
  const char *vm = NULL;
  SpiritTargetOs os = SPIRIT_TARGET_OS_UNKNOWN;

  g_assert_false (
    spirit_proxy_targets_add (targets, "docker", "x", SPIRIT_TARGET_OS_POSIX, &error));
  g_assert_error (error, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (
    spirit_proxy_targets_add (targets, "Spirit", "x", SPIRIT_TARGET_OS_POSIX, &error));
  g_clear_error (&error);
  g_assert_false (spirit_proxy_targets_add (targets, "linux", "y", SPIRIT_TARGET_OS_POSIX, &error));
  g_assert_nonnull (strstr (error->message, "defined twice"));
  g_clear_error (&error);
  g_assert_false (spirit_proxy_targets_add (targets, "a b", "y", SPIRIT_TARGET_OS_POSIX, &error));
  g_clear_error (&error);
  g_assert_false (spirit_proxy_targets_add (targets, "", "y", SPIRIT_TARGET_OS_POSIX, &error));
  g_clear_error (&error);

  g_assert_true (spirit_proxy_targets_lookup (targets, "WINDOWS", &vm, &os));
  g_assert_cmpstr (vm, ==, "Windows-Spirit");
  g_assert_cmpint (os, ==, SPIRIT_TARGET_OS_WINDOWS);
  /* "lab" and "Lab" are both there: a case-insensitive "LAB" picks neither */
  g_assert_true (spirit_proxy_targets_add (targets, "lab", "lab-1", SPIRIT_TARGET_OS_POSIX, NULL));
  g_assert_true (spirit_proxy_targets_add (targets, "Lab", "lab-2", SPIRIT_TARGET_OS_POSIX, NULL));
  g_assert_false (spirit_proxy_targets_lookup (targets, "LAB", NULL, NULL));
  g_assert_true (spirit_proxy_targets_lookup (targets, "Lab", &vm, NULL));
  g_assert_cmpstr (vm, ==, "lab-2");

  names = spirit_proxy_targets_list_names (targets);
  g_assert_cmpstr (names[0], ==, "spirit");
  g_assert_cmpstr (names[1], ==, "docker");
  g_assert_cmpstr (names[2], ==, "linux");
}

static void
test_quote_word (void)
{
  g_autofree char *a = spirit_proxy_quote_word ("it's");
  g_autofree char *b = spirit_proxy_quote_word ("");
  g_autofree char *c = spirit_proxy_quote_word ("C:\\x $y");

  g_assert_cmpstr (a, ==, "'it'\"'\"'s'");
  g_assert_cmpstr (b, ==, "''");
  g_assert_cmpstr (c, ==, "'C:\\x $y'");
}

static void
test_posix_shell_line (void)
{
  static const struct
  {
    const char *line;
    const char *sh;
  } cases[] = {
    { "@linux ls -la", "'ls' '-la'" },
    { "@linux A=1 B='x y' env | grep -v PATH 2>&1 | sort > out",
      "A='1' B='x y' 'env' | 'grep' '-v' 'PATH' 2>&1 | 'sort' 1>'out'" },
    { "@linux sort < in >> @spirit /tmp/x", "'sort' 0<'in'" },
    { "@linux echo 'it'\\''s' '$(id)'", "'echo' 'it'\"'\"'s' '$(id)'" },
    { "@linux! ls *.txt | wc -l > @spirit /tmp/n", "ls *.txt | wc -l" },
  };
  g_autoptr (SpiritProxyTargets) targets = make_targets ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SpiritCommandLine) line
        = spirit_command_line_parse (cases[i].line, targets, NULL, &error);
      g_autofree char *sh = NULL;

      g_assert_no_error (error);
      sh = spirit_stage_to_posix_shell (g_ptr_array_index (line->stages, 0));
      g_assert_cmpstr (sh, ==, cases[i].sh);
    }
}

static void
test_cmd_line (void)
{
  static const struct
  {
    const char *line;
    const char *cmd;
  } cases[] = {
    { "@windows dir C:\\Users", "dir C:\\Users" },
    { "@windows tasklist | findstr chrome > out.txt", "tasklist | findstr chrome 1> out.txt" },
    { "@windows echo 'a b' 'x&y' 'say \"hi\"' '' 2>&1", "echo \"a b\" \"x&y\" \"say \\\"hi\\\"\" \"\" 2>&1" },
    { "@windows type C:\\a.txt > @spirit /tmp/a", "type C:\\a.txt" },
    { "@windows! dir /b *.txt", "dir /b *.txt" },
  };
  g_autoptr (SpiritProxyTargets) targets = make_targets ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SpiritCommandLine) line
        = spirit_command_line_parse (cases[i].line, targets, NULL, &error);
      g_autofree char *cmd = NULL;

      g_assert_no_error (error);
      cmd = spirit_stage_to_cmd_line (g_ptr_array_index (line->stages, 0));
      g_assert_cmpstr (cmd, ==, cases[i].cmd);
    }
}

/* What the shell line does, run by a real /bin/sh: every word arrives as it was, whatever it
 * holds. */
static void
test_posix_shell_line_is_data (void)
{
  static const char *const words[] = {
    "$(touch /nonexistent/pwned)",
    "`id`",
    "a'b",
    "'",
    "\"",
    "\\",
    ";",
    "|",
    "&&",
    "*",
    "~",
    "$HOME",
    "${x:-y}",
    "a\nb",
    "",
    "-n",
    "#x",
    "!",
    "é",
    NULL,
  };
  g_autoptr (SpiritProxyTargets) targets = make_targets ();
  g_autoptr (GString) source = g_string_new ("printf '[%s]\\n'");
  g_autoptr (GString) expected = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SpiritCommandLine) line = NULL;
  g_autofree char *sh = NULL;
  g_autofree char *out = NULL;
  int status = -1;

  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autofree char *quoted = spirit_proxy_quote_word (words[i]);
      g_string_append_printf (source, " %s", quoted);
      g_string_append_printf (expected, "[%s]\n", words[i]);
    }
  line = spirit_command_line_parse (source->str, targets, NULL, &error);
  g_assert_no_error (error);
  sh = spirit_stage_to_posix_shell (g_ptr_array_index (line->stages, 0));
  g_assert_true (g_spawn_sync (NULL, (char *[]){ "/bin/sh", "-c", sh, NULL }, NULL, G_SPAWN_DEFAULT,
                               NULL, NULL, &out, NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpstr (out, ==, expected->str);
}

static void
test_runtime_errors (void)
{
  g_autoptr (SpiritProxyTargets) targets = make_targets ();
  g_autoptr (SpiritCommandLine) line
    = spirit_command_line_parse ("@windows dir", targets, NULL, NULL);
  SpiritTarget *target = ((SpiritStage *)g_ptr_array_index (line->stages, 0))->target;
  g_autoptr (GError) off = spirit_proxy_error_vm_not_running (target, "shutoff");
  g_autoptr (GError) paused = spirit_proxy_error_vm_not_running (target, "paused");
  g_autoptr (GError) gone = spirit_proxy_error_vm_not_running (target, "unavailable");
  g_autoptr (GError) odd = spirit_proxy_error_vm_not_running (target, "pmsuspended-new");
  g_autoptr (GError) agent = spirit_proxy_error_no_agent (target, "timed out after 5 s");

  g_assert_error (off, SPIRIT_ERROR, SPIRIT_ERROR_INVALID_STATE);
  g_assert_cmpstr (off->message, ==,
                   "@windows: the VM Windows-Spirit is shut off: start it with '@windows --start'");
  g_assert_cmpstr (paused->message, ==,
                   "@windows: the VM Windows-Spirit is paused: resume it with '@windows --resume'");
  g_assert_error (gone, SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE);
  g_assert_cmpstr (odd->message, ==,
                   "@windows: the VM Windows-Spirit is not running (pmsuspended-new)");
  g_assert_error (agent, SPIRIT_ERROR, SPIRIT_ERROR_UNAVAILABLE);
  g_assert_cmpstr (agent->message, ==,
                   "@windows: no Spirit agent answers in Windows-Spirit: timed out after 5 s (is "
                   "spirit-agent installed and running in the guest?)");
}

#define ADD_TABLE(name, table)                                                                     \
  do                                                                                               \
    {                                                                                              \
      static gconstpointer data[2] = { table, GSIZE_TO_POINTER (G_N_ELEMENTS (table)) };           \
      g_test_add_data_func ("/command-line/" name, data, run_table);                               \
      n_cases += G_N_ELEMENTS (table);                                                             \
    }                                                                                              \
  while (0)

int
main (int argc, char **argv)
{
  gsize n_cases = 0;

  g_test_init (&argc, &argv, NULL);
  ADD_TABLE ("basics", basics);
  ADD_TABLE ("quoting", quoting);
  ADD_TABLE ("env", env);
  ADD_TABLE ("windows", windows);
  ADD_TABLE ("pipes", pipes);
  ADD_TABLE ("redirects", redirects);
  ADD_TABLE ("controls", controls);
  ADD_TABLE ("shell", shell);
  ADD_TABLE ("errors", errors);
  g_test_add_func ("/command-line/without-targets", test_without_targets);
  g_test_add_func ("/command-line/tree-fields", test_tree_fields);
  g_test_add_func ("/command-line/targets-table", test_targets_table);
  g_test_add_func ("/command-line/quote-word", test_quote_word);
  g_test_add_func ("/command-line/posix-shell-line", test_posix_shell_line);
  g_test_add_func ("/command-line/cmd-line", test_cmd_line);
  g_test_add_func ("/command-line/runtime-errors", test_runtime_errors);
  g_test_add_func ("/command-line/posix-shell-line-is-data", test_posix_shell_line_is_data);
  g_test_message ("%" G_GSIZE_FORMAT " table lines", n_cases);
  return g_test_run ();
}
