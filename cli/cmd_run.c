/* cmd_run.c: `allocprof run`: starts a program with liballoc.so preloaded and
 * the profiler configured through its environment (ALLOCPROF_RATE,
 * ALLOCPROF_OUT, ALLOCPROF_INTERVAL, ALLOCPROF_SIGNAL, ALLOCPROF_PEAK,
 * ALLOCPROF_INUSE_INTERVAL, ALLOCPROF_STREAM), passes signals on to it,
 * waits, says which profiles and streams it and its children wrote, and
 * which profile holds the highest peak, and exits with its status. The
 * settings are checked before the program starts with the library's own
 * parsers (run_settings.c): a value the profiler would turn down is a usage
 * error here, not a program run with profiling silently off.
 *
 * The library is found next to this executable, so the build tree and an
 * installation both work without configuration: build/cli/allocprof uses
 * build/liballoc/liballoc.so; PREFIX/bin/allocprof uses PREFIX/lib/ or
 * PREFIX/lib/allocprof/. ALLOCPROF_LIB overrides the search.
 *
 * Which profiles were written, and how run lists them: run_report.c.
 *
 * ALLOCPROF_RUN_PID names PROG's pid: the other processes of the run add
 * their pid to a pattern without %p (a fork child does anyway), so none
 * replaces another's file. --no-children sets ALLOCPROF_NO_CHILDREN=1: the
 * library in any process but PROG (a fork child, a program it runs) leaves
 * profiling off, so they run as they would unprofiled, with liballoc as
 * their malloc. PROG itself stays profiled across an exec (a wrapper
 * script that execs the real program). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmds.h"
#include "common.h"
#include "run_report.h"
#include "run_settings.h"
#include "static_prog.h"

static const char run_intro[] =
    "usage: allocprof run [--rate N] [-o PATTERN] [--interval S] [--signal SIG]\n"
    "                     [--peak MARGIN] [--inuse-interval N] [--stream PATTERN]\n"
    "                     [--http ADDR] [--no-children] -- PROG [ARGS...]\n"
    "\n"
    "Runs PROG with the allocprof heap profiler preloaded (LD_PRELOAD=liballoc.so,\n"
    "put before any LD_PRELOAD already set) and its profile written at exit, and\n"
    "on the signal, interval, peak and growth asked for. Signals sent to allocprof\n"
    "(INT, TERM, HUP, QUIT, USR1, USR2, ALRM and --signal's) are passed on to PROG;\n"
    "a terminal's ^C reaches PROG directly. When PROG ends, the profiles it and\n"
    "its child processes wrote are listed on stderr, and the streams, and with\n"
    "--peak the profile of the highest in-use total is named; allocprof exits with\n"
    "PROG's status (128+N when a signal N killed it; 127 when it cannot be\n"
    "started). A process that never took a sample writes no profile at exit.\n"
    "\n";

static const cli_option run_options[] = {
    {"rate", 'r', "N", 'r',
     "mean bytes allocated between samples (ALLOCPROF_RATE;\n"
     "512k by default; 1 records every allocation, 0 none)"},
    {"output", 'o', "PATTERN", 'o',
     "where profiles go (ALLOCPROF_OUT; default\n"
     "allocprof.%p.pb.gz): %p the process id, %n a sequence\n"
     "number, %t the time; the ending picks the container;\n"
     "with -i, -s, --peak or --inuse-interval, a PATTERN\n"
     "without %n gets .%n before the ending"},
    {"interval", 'i', "S", 'i',
     "also write a profile every S seconds\n"
     "(ALLOCPROF_INTERVAL)"},
    {"signal", 's', "SIG", 's',
     "also write a profile on signal SIG, e.g. USR2\n"
     "(ALLOCPROF_SIGNAL); it is passed on like the others"},
    {"peak", 0, "MARGIN", 'P',
     "also write a profile at each new high of in-use\n"
     "memory past the last by MARGIN, e.g. 10% or 64m\n"
     "(ALLOCPROF_PEAK)"},
    {"inuse-interval", 0, "N", 'G',
     "also write a profile whenever in-use memory grew by N\n"
     "bytes since the last, e.g. 64m\n"
     "(ALLOCPROF_INUSE_INTERVAL)"},
    {"stream", 0, "PATTERN", 'S',
     "also append every profile to one zstd snapshot stream\n"
     "(ALLOCPROF_STREAM; %p the process id, %t the time)"},
    {"http", 0, "ADDR", 'H',
     "also serve /debug/pprof/heap and /metrics at ADDR\n"
     "(ALLOCPROF_HTTP), e.g. 127.0.0.1:6060; port 0 picks one"},
    {"no-children", 0, NULL, CLI_OPT_NO_CHILDREN,
     "profile PROG only, not the processes it starts\n"
     "(they run unprofiled; PROG stays profiled if it\n"
     "execs another program)"},
    {NULL},
};

static const char run_outro[] =
    "\n"
    "liballoc.so is looked for at ../liballoc/, ../lib/ and ../lib/allocprof/\n"
    "relative to the allocprof executable; ALLOCPROF_LIB=PATH overrides that.\n";

static int do_run(int argc, char **argv);

const cli_command cmd_run = {
    .name = "run",
    .summary = "run a program with the heap profiler preloaded",
    .run = do_run,
    .intro = run_intro,
    .options = run_options,
    .outro = run_outro,
    .stop_at_operand = true,
};

/* ---- finding liballoc.so ---- */

static int find_library(char *out, size_t len) {
  const char *env = getenv("ALLOCPROF_LIB");
  if (env && *env) {
    if (access(env, R_OK) != 0) {
      cli_error("ALLOCPROF_LIB=%s: %s", env, strerror(errno));
      return -1;
    }
    snprintf(out, len, "%s", env);
    return 0;
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    cli_error("/proc/self/exe: %s (set ALLOCPROF_LIB to liballoc.so)", strerror(errno));
    return -1;
  }
  exe[n] = 0;
  char *slash = strrchr(exe, '/');
  if (slash) *slash = 0;
#ifndef ALLOCPROF_BIN_TO_LIB
#define ALLOCPROF_BIN_TO_LIB "../lib"
#endif
  /* the build tree, then the installed layout (cmake/install.cmake) */
  static const char *const rel[] = {"../liballoc/liballoc.so", ALLOCPROF_BIN_TO_LIB "/liballoc.so",
                                    "../lib/liballoc.so", "../lib/allocprof/liballoc.so"};
  for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", exe, rel[i]);
    char *real = realpath(path, NULL);
    if (real && access(real, R_OK) == 0) {
      snprintf(out, len, "%s", real);
      free(real);
      return 0;
    }
    free(real);
  }
  cli_error(
      "liballoc.so not found in %s/../liballoc, ../lib or ../lib/allocprof "
      "(set ALLOCPROF_LIB to its path)",
      exe);
  return -1;
}

/* ---- signals ---- */

/* The signals passed on; the last slot takes --signal's when it is another. */
static int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGALRM};
#define NFORWARDED (sizeof forwarded / sizeof forwarded[0])

static volatile sig_atomic_t child_pid;

static void forward(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  /* A terminal's ^C or ^\ (si_code SI_KERNEL) went to the whole foreground
   * process group, PROG included: passing it on would deliver it twice. */
  if (si && si->si_code == SI_KERNEL) return;
  if (child_pid > 0) kill((pid_t)child_pid, sig);
}

/* ---- the settings ---- */

static const char *environment(const char *name) { return getenv(name); }

/* ---- the output directory ---- */

/* The library checks at start that the directory of ALLOCPROF_OUT (and
 * ALLOCPROF_STREAM's) exists and is writable, and otherwise runs the
 * program unprofiled: check it here first, unless the directory's name
 * depends on the process (%p, %t). opt names the option ("-o"). */
static int check_out_dir(const char *opt, const char *pattern, const char *abs_pattern) {
  char pdir[PATH_MAX], dir[PATH_MAX], other[PATH_MAX], shown[PATH_MAX];
  if (trig_dirname(abs_pattern, pdir, sizeof pdir) != 0 ||
      trig_pattern_expand(pdir, 1, 1, 1, dir, sizeof dir) != 0 ||
      trig_pattern_expand(pdir, 2, 2, 2, other, sizeof other) != 0 || strcmp(dir, other) != 0)
    return 0; /* too long (the library will say so), or it has %p, %n or %t */
  /* named as the user wrote it */
  if (trig_dirname(pattern, pdir, sizeof pdir) != 0 ||
      trig_pattern_expand(pdir, 1, 1, 1, shown, sizeof shown) != 0)
    snprintf(shown, sizeof shown, "%s", dir);
  struct stat st;
  if (stat(dir, &st) != 0) {
    cli_error("%s %s: directory %s %s", opt, pattern, shown,
              errno == ENOENT || errno == ENOTDIR ? "does not exist" : strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    cli_error("%s %s: %s is not a directory", opt, pattern, shown);
    return -1;
  }
  if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0) {
    cli_error("%s %s: directory %s is not writable", opt, pattern, shown);
    return -1;
  }
  return 0;
}

/* Why PROG wrote no profile: a static program cannot be entered by
 * LD_PRELOAD (static_prog.h); a process killed by a signal writes none; one
 * that took no sample neither. */
static void say_why_none(const char *prog, int status) {
  char path[PATH_MAX];
  if (run_prog_is_static(prog, path, sizeof path))
    fprintf(stderr,
            "allocprof: no profile written: %s is statically linked, and a static program "
            "cannot be profiled by preloading (LD_PRELOAD)\n",
            path);
  else
    fprintf(stderr, "allocprof: no profile written (%s)\n",
            WIFSIGNALED(status)
                ? "a process killed by a signal writes none at exit"
                : "a process writes one at exit only if it took a sample; see --rate");
}

/* ---- the command ---- */

/* Options into opt and *no_children; PROG's words start at argv[optind].
 * Returns -1 to go on, else the exit status. */
static int parse_run(struct run_options *opt, bool *no_children, int argc, char **argv) {
  int c;
  while ((c = cli_option_next(&cmd_run, argc, argv)) != -1) {
    switch (c) {
      case 'r': opt->rate = optarg; break;
      case 'o': opt->out = optarg; break;
      case 'i': opt->interval = optarg; break;
      case 's': opt->signal = optarg; break;
      case 'P': opt->peak = optarg; break;
      case 'G': opt->inuse = optarg; break;
      case 'S': opt->stream = optarg; break;
      case 'H': opt->http = optarg; break; /* long only: no short -H */
      case CLI_OPT_NO_CHILDREN: *no_children = true; break;
      default: return cli_option_end(&cmd_run, c);
    }
  }
  if (optind == argc)
    return cli_usage_error("run", "no program to run (allocprof run -- PROG ARGS...)");
  return -1;
}

/* The environment PROG starts with: the checked settings, LD_PRELOAD with
 * liballoc.so first. Returns -1 to go on, else the exit status. */
static int set_environment(const struct run_options *opt, bool no_children, const char *cwd) {
  /* Everything the program's profiler will read, checked as it will check
   * it (run_settings.c), and ALLOCPROF_OUT made absolute, so a program that
   * changes directory still writes where we look. */
  char err[CLI_ERRLEN];
  struct run_env env;
  if (run_settings_check(opt, environment, cwd, &env, err, sizeof err) != 0)
    return cli_usage_error("run", "%s", err);
  if (check_out_dir("-o", opt->out, env.out) != 0 ||
      (opt->stream && check_out_dir("--stream", opt->stream, env.stream) != 0))
    return CLI_EXIT_USAGE;
  if (env.signo != 0) forwarded[NFORWARDED - 1] = env.signo;

  char lib[PATH_MAX];
  if (find_library(lib, sizeof lib) != 0) return CLI_EXIT_USAGE;

  const char *old = getenv("LD_PRELOAD");
  size_t plen = strlen(lib) + (old ? strlen(old) : 0) + 2;
  char *preload = malloc(plen);
  if (!preload) {
    cli_error("out of memory");
    return CLI_EXIT_USAGE;
  }
  snprintf(preload, plen, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
  int env_rc = setenv("LD_PRELOAD", preload, 1) | setenv("ALLOCPROF_OUT", env.out, 1) |
               (opt->rate ? setenv("ALLOCPROF_RATE", env.rate, 1) : 0) |
               (opt->interval ? setenv("ALLOCPROF_INTERVAL", opt->interval, 1) : 0) |
               (opt->signal ? setenv("ALLOCPROF_SIGNAL", opt->signal, 1) : 0) |
               (opt->peak ? setenv("ALLOCPROF_PEAK", opt->peak, 1) : 0) |
               (opt->inuse ? setenv("ALLOCPROF_INUSE_INTERVAL", opt->inuse, 1) : 0) |
               (opt->stream ? setenv("ALLOCPROF_STREAM", env.stream, 1) : 0) |
               (opt->http ? setenv("ALLOCPROF_HTTP", opt->http, 1) : 0);
  free(preload);
  /* ours alone decides: the settings of a run we run inside do not apply
   * to the program we were asked to profile (the child sets its pid below) */
  env_rc |=
      no_children ? setenv("ALLOCPROF_NO_CHILDREN", "1", 1) : unsetenv("ALLOCPROF_NO_CHILDREN");
  if (env_rc != 0) {
    cli_error("cannot set the environment: %s", strerror(errno));
    return CLI_EXIT_USAGE;
  }
  return -1;
}

/* In the child: PROG's environment gets its pid, signals their defaults
 * back, and PROG is executed; a failure goes to the parent through pfd. */
static _Noreturn void exec_child(char **prog, int pfd, const sigset_t *old_set) {
  { /* PROG's own pid: the library tells PROG from the processes it starts */
    char self[24];
    snprintf(self, sizeof self, "%ld", (long)getpid());
    if (setenv("ALLOCPROF_RUN_PID", self, 1) != 0) {
      int e = errno;
      if (write(pfd, &e, sizeof e) < 0) { /* nothing more to do */
      }
      _exit(126);
    }
  }
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  sigemptyset(&dfl.sa_mask);
  for (size_t i = 0; i < NFORWARDED; i++) sigaction(forwarded[i], &dfl, NULL);
  sigprocmask(SIG_SETMASK, old_set, NULL);
  execvp(prog[0], prog);
  int e = errno;
  if (write(pfd, &e, sizeof e) < 0) { /* nothing more to do */
  }
  _exit(e == ENOENT ? 127 : 126);
}

/* Starts PROG with the signals we pass on handled, waits for it: its
 * status in *status, or the errno of a failed exec in *exec_errno (else 0),
 * its pid in *pid_out. Returns 0, or -1 after printing. */
static int start_and_wait(char **prog, int *status, int *exec_errno, pid_t *pid_out) {
  /* Signals are blocked from before the fork until child_pid is set, so
   * none is lost or sent to nobody. The child unblocks them before exec
   * (exec itself resets the handlers). A close-on-exec pipe tells the parent
   * whether exec failed. */
  sigset_t set, old_set;
  sigemptyset(&set);
  for (size_t i = 0; i < NFORWARDED; i++) sigaddset(&set, forwarded[i]);
  sigprocmask(SIG_BLOCK, &set, &old_set);
  struct sigaction sa = {.sa_sigaction = forward, .sa_flags = SA_SIGINFO | SA_RESTART};
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < NFORWARDED; i++) sigaction(forwarded[i], &sa, NULL);
  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) != 0) {
    cli_error("pipe: %s", strerror(errno));
    return -1;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    cli_error("fork: %s", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    close(pfd[0]);
    exec_child(prog, pfd[1], &old_set);
  }
  child_pid = pid;
  *pid_out = pid;
  sigprocmask(SIG_SETMASK, &old_set, NULL);
  close(pfd[1]);
  *exec_errno = 0;
  ssize_t got;
  while ((got = read(pfd[0], exec_errno, sizeof *exec_errno)) < 0 && errno == EINTR) {
  }
  close(pfd[0]);
  if (got != (ssize_t)sizeof *exec_errno) *exec_errno = 0;
  while (waitpid(pid, status, 0) < 0) {
    if (errno != EINTR) {
      cli_error("waitpid: %s", strerror(errno));
      return -1;
    }
  }
  child_pid = 0;
  return 0;
}

static int do_run(int argc, char **argv) {
  struct run_options opt = {.out = "allocprof.%p.pb.gz"};
  bool no_children = false;
  int rc = parse_run(&opt, &no_children, argc, argv);
  if (rc >= 0) return rc;
  char **prog = argv + optind;
  char cwd_buf[PATH_MAX];
  const char *cwd = getcwd(cwd_buf, sizeof cwd_buf);
  if ((rc = set_environment(&opt, no_children, cwd)) >= 0) return rc;
  struct run_log log;
  bool logged = run_log_make(&log) == 0;

  int status = 0, exec_errno = 0;
  pid_t pid = 0;
  if (start_and_wait(prog, &status, &exec_errno, &pid) != 0) {
    run_log_remove(&log);
    return CLI_EXIT_USAGE;
  }
  if (exec_errno) {
    run_log_remove(&log);
    cli_error("%s: cannot run it: %s", prog[0], strerror(exec_errno));
    return exec_errno == ENOENT ? 127 : 126;
  }
  if (!logged)
    run_report_pattern(opt.out, pid);
  else if (run_log_report(&log, cwd) == 0)
    say_why_none(prog[0], status);
  run_log_remove(&log);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "allocprof: %s killed by signal %d (%s)\n", prog[0], WTERMSIG(status),
            strsignal(WTERMSIG(status)));
    return 128 + WTERMSIG(status);
  }
  return CLI_EXIT_USAGE;
}
