/* test_cli_static.c: run_prog_is_static (cli/static_prog.c), which tells
 * `allocprof run` that a program is statically linked (no PT_INTERP), on
 * ELF headers made here: 64- and 32-bit, with and without an interpreter,
 * through PATH, behind a script's #! line, and files it must not judge. */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cmocka.h>

#define TMPDIR_FIXTURE_NAME "test_cli_static"
#include "static_prog.h"
#include "tmpdir_fixture.h"

static const unsigned char native =
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;

static void write_exec(const char *name, const void *data, size_t len) {
  FILE *f = fopen(at(name), "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
  assert_int_equal(chmod(at(name), 0755), 0);
}

/* A 64-bit executable with a PT_LOAD and, if interp, a PT_INTERP. */
static void elf64(const char *name, int interp) {
  struct {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[2];
  } f = {0};
  memcpy(f.eh.e_ident, ELFMAG, SELFMAG);
  f.eh.e_ident[EI_CLASS] = ELFCLASS64;
  f.eh.e_ident[EI_DATA] = native;
  f.eh.e_type = ET_EXEC;
  f.eh.e_phoff = sizeof f.eh;
  f.eh.e_phentsize = sizeof(Elf64_Phdr);
  f.eh.e_phnum = 2;
  f.ph[0].p_type = PT_LOAD;
  f.ph[1].p_type = interp ? PT_INTERP : PT_NOTE;
  write_exec(name, &f, sizeof f);
}

static void elf32(const char *name, int interp) {
  struct {
    Elf32_Ehdr eh;
    Elf32_Phdr ph[2];
  } f = {0};
  memcpy(f.eh.e_ident, ELFMAG, SELFMAG);
  f.eh.e_ident[EI_CLASS] = ELFCLASS32;
  f.eh.e_ident[EI_DATA] = native;
  f.eh.e_type = ET_EXEC;
  f.eh.e_phoff = sizeof f.eh;
  f.eh.e_phentsize = sizeof(Elf32_Phdr);
  f.eh.e_phnum = 2;
  f.ph[0].p_type = interp ? PT_INTERP : PT_LOAD;
  write_exec(name, &f, sizeof f);
}

static void test_elf(void **state) {
  (void)state;
  char shown[512];
  elf64("static64", 0);
  elf64("dynamic64", 1);
  elf32("static32", 0);
  elf32("dynamic32", 1);
  assert_true(run_prog_is_static(at("static64"), shown, sizeof shown));
  assert_string_equal(shown, at("static64"));
  assert_false(run_prog_is_static(at("dynamic64"), shown, sizeof shown));
  assert_true(run_prog_is_static(at("static32"), shown, sizeof shown));
  assert_false(run_prog_is_static(at("dynamic32"), shown, sizeof shown));
  /* cut short, not ELF, missing: not judged */
  write_exec("short", "\177ELF", 4);
  write_exec("text", "hello\n", 6);
  assert_false(run_prog_is_static(at("short"), shown, sizeof shown));
  assert_false(run_prog_is_static(at("text"), shown, sizeof shown));
  assert_false(run_prog_is_static(at("missing"), shown, sizeof shown));
}

/* A name without a slash is found through PATH, as execvp finds it. */
static void test_path(void **state) {
  (void)state;
  char shown[512], path[1024];
  elf64("static64", 0);
  const char *old = getenv("PATH");
  char *saved = old ? strdup(old) : NULL;
  snprintf(path, sizeof path, "/nonexistent:%s", dir);
  setenv("PATH", path, 1);
  assert_true(run_prog_is_static("static64", shown, sizeof shown));
  assert_string_equal(shown, at("static64"));
  assert_false(run_prog_is_static("no-such-program-here", shown, sizeof shown));
  if (saved)
    setenv("PATH", saved, 1);
  else
    unsetenv("PATH");
  free(saved);
}

/* A script is judged by its interpreter, one level deep. */
static void test_script(void **state) {
  (void)state;
  char shown[512], text[600];
  elf64("static64", 0);
  elf64("dynamic64", 1);
  snprintf(text, sizeof text, "#! %s -x\necho hi\n", at("static64"));
  write_exec("s1", text, strlen(text));
  snprintf(text, sizeof text, "#!%s\n", at("dynamic64"));
  write_exec("s2", text, strlen(text));
  snprintf(text, sizeof text, "#!%s\n", at("s1")); /* a script as interpreter: not followed */
  write_exec("s3", text, strlen(text));
  assert_true(run_prog_is_static(at("s1"), shown, sizeof shown));
  assert_string_equal(shown, at("static64"));
  assert_false(run_prog_is_static(at("s2"), shown, sizeof shown));
  assert_false(run_prog_is_static(at("s3"), shown, sizeof shown));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_elf),
      cmocka_unit_test(test_path),
      cmocka_unit_test(test_script),
  };
  return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
