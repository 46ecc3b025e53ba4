/* test_formats_fileio.c: the file writer and reader under hostile conditions
 * (formats/fileio.h): planted symbolic links at the temporary's old
 * predictable name and at the target, special files at the target, a file
 * size limit (SIGXFSZ), modes, nothing left behind, with and without
 * O_TMPFILE; reads that stop early on input a check refuses; the snapshot
 * stream's appender (stream_open_append) under the same conditions. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"
#include "stream.h"

#define TMPDIR_FIXTURE_NAME "test_formats_fileio"
#include "tmpdir_fixture.h"

/* Empties the directory between tests. */
static int clean(void **state) {
  (void)state;
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlink(at(e->d_name));
  if (d) closedir(d);
  fileio_set_use_tmpfile(true);
  return 0;
}

static size_t dir_entries(void) {
  DIR *d = opendir(dir);
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static void put_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void assert_text(const char *path, const char *text) {
  char buf[256] = "";
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  assert_string_equal(buf, text);
}

/* A new file: mode 0600 whatever the umask allows, content right, no
 * temporary left; replacing an existing file works the same. */
static void check_plain_write(void) {
  char err[512];
  mode_t old = umask(022);
  assert_int_equal(fileio_write_atomic(at("p.pb"), "hello", 5, err, sizeof err), 0);
  umask(old);
  struct stat st;
  assert_int_equal(lstat(at("p.pb"), &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_text(at("p.pb"), "hello");
  assert_int_equal(fileio_write_atomic(at("p.pb"), "again", 5, err, sizeof err), 0);
  assert_text(at("p.pb"), "again");
  assert_int_equal(dir_entries(), 1);
}

static void test_plain_write(void **state) {
  (void)state;
  check_plain_write();
}

static void test_plain_write_no_tmpfile(void **state) {
  (void)state;
  fileio_set_use_tmpfile(false);
  check_plain_write();
}

/* fileio_set_create_mode(0666), as the command sets it: files follow the
 * umask (0644 under 022, 0600 under 077), with O_TMPFILE and without; a
 * batch too. Back to 0600, the library's mode, afterwards. */
static void check_create_mode(void) {
  char err[512];
  struct stat st;
  fileio_set_create_mode(0666);
  mode_t old = umask(022);
  assert_int_equal(fileio_write_atomic(at("m.pb"), "hello", 5, err, sizeof err), 0);
  assert_int_equal(lstat(at("m.pb"), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644);
  fileio_batch b = {0};
  assert_int_equal(fileio_batch_add(&b, at("b.pb"), "x", 1, err, sizeof err), 0);
  assert_int_equal(fileio_batch_commit(&b, err, sizeof err), 0);
  assert_int_equal(lstat(at("b.pb"), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644);
  umask(077);
  assert_int_equal(fileio_write_atomic(at("m.pb"), "again", 5, err, sizeof err), 0);
  assert_int_equal(lstat(at("m.pb"), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  umask(old);
  fileio_set_create_mode(0600);
  assert_int_equal(dir_entries(), 2);
}

static void test_create_mode(void **state) {
  (void)state;
  check_create_mode();
}

static void test_create_mode_no_tmpfile(void **state) {
  (void)state;
  fileio_set_use_tmpfile(false);
  check_create_mode();
}

/* The temporary used to be PATH.tmp.PID opened without O_EXCL: a link
 * planted there made the writer overwrite the link's target. */
static void check_planted_tmp_link(void) {
  char err[512], name[600];
  put_text(at("victim"), "precious");
  snprintf(name, sizeof name, "%s.tmp.%ld", at("out.pb"), (long)getpid());
  assert_int_equal(symlink(at("victim"), name), 0);
  assert_int_equal(fileio_write_atomic(at("out.pb"), "profile", 7, err, sizeof err), 0);
  assert_text(at("victim"), "precious");
  assert_text(at("out.pb"), "profile");
  struct stat st;
  assert_int_equal(lstat(name, &st), 0);
  assert_true(S_ISLNK(st.st_mode)); /* not ours: left alone */
  assert_int_equal(dir_entries(), 3);
}

static void test_planted_tmp_link(void **state) {
  (void)state;
  check_planted_tmp_link();
}

static void test_planted_tmp_link_no_tmpfile(void **state) {
  (void)state;
  fileio_set_use_tmpfile(false);
  check_planted_tmp_link();
}

/* A symbolic link at the target is replaced itself, never followed: its
 * target keeps its content. A fifo, directory or device is refused with
 * one line and left as it was. */
static void test_special_targets(void **state) {
  (void)state;
  char err[512];
  struct stat st;
  put_text(at("victim"), "precious");
  assert_int_equal(symlink(at("victim"), at("link")), 0);
  assert_int_equal(fileio_write_atomic(at("link"), "x", 1, err, sizeof err), 0);
  assert_int_equal(lstat(at("link"), &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_text(at("link"), "x");
  assert_text(at("victim"), "precious");

  assert_int_equal(mkfifo(at("fifo"), 0644), 0);
  assert_int_equal(fileio_write_atomic(at("fifo"), "x", 1, err, sizeof err), -1);
  assert_non_null(strstr(err, "fifo"));
  assert_int_equal(lstat(at("fifo"), &st), 0);
  assert_true(S_ISFIFO(st.st_mode));

  if (mknod(at("null"), S_IFCHR | 0666, makedev(1, 3)) == 0) { /* needs root */
    assert_int_equal(fileio_write_atomic(at("null"), "x", 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "character device"));
    assert_int_equal(lstat(at("null"), &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    unlink(at("null"));
  }
  assert_int_equal(mkdir(at("dir"), 0755), 0);
  assert_int_equal(fileio_write_atomic(at("dir"), "x", 1, err, sizeof err), -1);
  assert_non_null(strstr(err, "directory"));
  rmdir(at("dir"));
  assert_int_equal(dir_entries(), 3);
}

/* Under a file size limit the write fails with EFBIG in one line, the
 * process lives on (SIGXFSZ neither kills it now nor later), and nothing is
 * left behind. Runs in a child, which the limit would otherwise kill. */
static void check_file_size_limit(bool tmpfile) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    fileio_set_use_tmpfile(tmpfile);
    struct rlimit rl = {4096, 4096};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(10);
    static char data[65536];
    char err[512];
    memset(data, 'x', sizeof data);
    if (fileio_write_atomic(at("big.pb"), data, sizeof data, err, sizeof err) != -1) _exit(11);
    if (!strstr(err, "File too large") || !strstr(err, "EFBIG") || strchr(err, '\n')) _exit(12);
    sigset_t pending;
    if (sigpending(&pending) != 0 || sigismember(&pending, SIGXFSZ)) _exit(13);
    if (access(at("big.pb"), F_OK) == 0) _exit(14);
    /* A small file still fits. */
    if (fileio_write_atomic(at("small.pb"), data, 100, err, sizeof err) != 0) _exit(15);
    _exit(0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_false(WIFSIGNALED(status));
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_int_equal(dir_entries(), 1); /* small.pb only */
}

static void test_file_size_limit(void **state) {
  (void)state;
  check_file_size_limit(true);
}

static void test_file_size_limit_no_tmpfile(void **state) {
  (void)state;
  check_file_size_limit(false);
}

/* fileio_write_full alone: EFBIG, not death. */
static void test_write_full_efbig(void **state) {
  (void)state;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct rlimit rl = {1024, 1024};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(10);
    int fd = open(at("w"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    static char data[8192];
    if (fd < 0) _exit(11);
    if (fileio_write_full(fd, data, sizeof data) != -1 || errno != EFBIG) _exit(12);
    _exit(0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* A missing directory: one line naming the path, nothing created. */
static void test_missing_dir(void **state) {
  (void)state;
  char err[512];
  assert_int_equal(fileio_write_atomic(at("no/such/x.pb"), "x", 1, err, sizeof err), -1);
  assert_non_null(strstr(err, "no/such/x.pb"));
  assert_non_null(strstr(err, "No such file or directory"));
  assert_int_equal(dir_entries(), 0);
}

static int refuse_zeros(void *ctx, const uint8_t *buf, size_t len, char *err, size_t errlen) {
  size_t *calls = ctx;
  (*calls)++;
  if (len > 0 && buf[0] == 0) {
    snprintf(err, errlen, "starts with a zero byte");
    return -1;
  }
  return 0;
}

/* A check stops reading an endless device after its first read. */
static void test_read_checked_stops(void **state) {
  (void)state;
  char err[512];
  uint8_t *buf = NULL;
  size_t len = 0, calls = 0;
  if (access("/dev/zero", R_OK) != 0) skip();
  assert_int_equal(fileio_read_all_checked("/dev/zero", (size_t)1 << 30, refuse_zeros, &calls, &buf,
                                           &len, err, sizeof err),
                   -1);
  assert_int_equal(calls, 1);
  assert_string_equal(err, "/dev/zero: starts with a zero byte");
  assert_null(buf);
  /* Without a check it stops at the limit. */
  assert_int_equal(fileio_read_all("/dev/zero", 100000, &buf, &len, err, sizeof err), -1);
  assert_non_null(strstr(err, "file too large"));
  /* A regular file passes a check that likes it. */
  put_text(at("ok"), "abc");
  calls = 0;
  assert_int_equal(
      fileio_read_all_checked(at("ok"), 100, refuse_zeros, &calls, &buf, &len, err, sizeof err), 0);
  assert_int_equal(len, 3);
  assert_true(calls >= 1);
  free(buf);
}

/* A batch is all or nothing: abort leaves no file, commit all of them;
 * a target that cannot be replaced fails its add, and the abort then
 * removes the others' temporaries. */
static void test_batch(void **state) {
  (void)state;
  char err[512];
  fileio_batch b = {0};
  assert_int_equal(fileio_batch_add(&b, at("s.0"), "zero", 4, err, sizeof err), 0);
  assert_int_equal(fileio_batch_add(&b, at("s.1"), "one", 3, err, sizeof err), 0);
  assert_int_equal(access(at("s.0"), F_OK), -1); /* not before the commit */
  assert_int_equal(fileio_batch_add(&b, at("s.1"), "again", 5, err, sizeof err), -1);
  assert_non_null(strstr(err, "twice"));
  fileio_batch_abort(&b);
  assert_int_equal(dir_entries(), 0);

  assert_int_equal(mkfifo(at("s.2"), 0644), 0);
  assert_int_equal(fileio_batch_add(&b, at("s.0"), "zero", 4, err, sizeof err), 0);
  assert_int_equal(fileio_batch_add(&b, at("s.2"), "two", 3, err, sizeof err), -1);
  assert_non_null(strstr(err, "fifo"));
  fileio_batch_abort(&b);
  assert_int_equal(dir_entries(), 1); /* the fifo, untouched */
  unlink(at("s.2"));

  assert_int_equal(fileio_batch_add(&b, at("s.0"), "zero", 4, err, sizeof err), 0);
  assert_int_equal(fileio_batch_add(&b, at("s.1"), "one", 3, err, sizeof err), 0);
  assert_int_equal(fileio_batch_commit(&b, err, sizeof err), 0);
  assert_text(at("s.0"), "zero");
  assert_text(at("s.1"), "one");
  assert_int_equal(dir_entries(), 2);
  fileio_batch_abort(&b); /* after a commit: nothing to do */
  assert_int_equal(dir_entries(), 2);
}

/* The stream appender follows no link, appends to no fifo (nor blocks on
 * one), creates 0600, and survives a file size limit. */
static void test_stream_append_targets(void **state) {
  (void)state;
  char err[512];
  static const char pb[] = "\x0a\x00";
  put_text(at("victim"), "precious");
  assert_int_equal(symlink(at("victim"), at("link.zst")), 0);
  assert_int_equal(stream_append(at("link.zst"), pb, 2, err, sizeof err), -1);
  assert_non_null(strstr(err, "symbolic link"));
  assert_text(at("victim"), "precious");
  assert_int_equal(mkfifo(at("fifo.zst"), 0644), 0);
  assert_int_equal(stream_append(at("fifo.zst"), pb, 2, err, sizeof err), -1);
  assert_non_null(strstr(err, "fifo.zst"));
  mode_t old = umask(022);
  assert_int_equal(stream_append(at("s.zst"), pb, 2, err, sizeof err), 0);
  umask(old);
  struct stat st;
  assert_int_equal(stat(at("s.zst"), &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  off_t size = st.st_size;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct rlimit rl = {(rlim_t)size + 4, (rlim_t)size + 4};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(10);
    static char big[65536];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 2654435761u >> 13);
    if (stream_append(at("s.zst"), big, sizeof big, err, sizeof err) != -1) _exit(11);
    if (!strstr(err, "EFBIG")) _exit(12);
    _exit(0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_int_equal(stat(at("s.zst"), &st), 0);
  assert_int_equal(st.st_size, size); /* the partial frame was cut off */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_plain_write, clean),
      cmocka_unit_test_setup(test_plain_write_no_tmpfile, clean),
      cmocka_unit_test_setup(test_create_mode, clean),
      cmocka_unit_test_setup(test_create_mode_no_tmpfile, clean),
      cmocka_unit_test_setup(test_planted_tmp_link, clean),
      cmocka_unit_test_setup(test_planted_tmp_link_no_tmpfile, clean),
      cmocka_unit_test_setup(test_special_targets, clean),
      cmocka_unit_test_setup(test_file_size_limit, clean),
      cmocka_unit_test_setup(test_file_size_limit_no_tmpfile, clean),
      cmocka_unit_test_setup(test_write_full_efbig, clean),
      cmocka_unit_test_setup(test_missing_dir, clean),
      cmocka_unit_test_setup(test_read_checked_stops, clean),
      cmocka_unit_test_setup(test_stream_append_targets, clean),
      cmocka_unit_test_setup(test_batch, clean),
  };
  return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
