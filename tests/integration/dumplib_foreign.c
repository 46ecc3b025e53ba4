/* dumplib_foreign.c: an impostor liballoc_dump.so for dumplib_load.sh. Its
 * constructor does what a dumping half of another build, or a broken one,
 * could do to liballoc while it is being loaded:
 *   FOREIGN_ABI      registers a hook of ABI version 999
 *   FOREIGN_REENTER  calls allocprof_dump from inside the load (the loading
 *                    thread re-enters), then registers nothing
 * Both leave liballoc's sampling half alone; liballoc must say one line and
 * run on unprofiled. */
#include <stddef.h>
#include <stdint.h>

/* liballoc's exports, declared here as another build would see them */
extern int mprof_register_dumper(const void *d);
extern int allocprof_dump(const char *path);

struct foreign_dumper {
  uint32_t abi, size;
  void *hooks[8];
};
static const struct foreign_dumper foreign = {999, sizeof(struct foreign_dumper), {NULL}};

int foreign_reentered_rc = 1; /* what the re-entrant call returned */

__attribute__((constructor)) static void foreign_start(void) {
#ifdef FOREIGN_ABI
  mprof_register_dumper(&foreign);
#endif
#ifdef FOREIGN_REENTER
  foreign_reentered_rc = allocprof_dump("/nonexistent/reentered.pb.gz");
#endif
  (void)foreign;
}
