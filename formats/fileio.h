/* fileio.h: whole-file reads and all-or-nothing file writes for the formats
 * library (temporary file, fsync, rename). Overview: formats/README.md.
 *
 * Calls return 0 on success, -1 on failure with a one-line message that
 * starts with the path written to err[errlen].
 */
#ifndef FORMATS_FILEIO_H
#define FORMATS_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads the whole regular file (or pipe, or device) at path into *out
 * (malloc'd; one extra NUL byte past the end). Refuses files larger than max
 * bytes; from a pipe or device it stops reading at max + 1 bytes. An empty
 * file is not an error here: *outlen is 0. */
int fileio_read_all(const char *path, size_t max, uint8_t **out, size_t *outlen, char *err,
                    size_t errlen);

/* Looks at the first len bytes read so far (the file may go on). Returns 0
 * to read on, -1 to give up, with a message (no file name) in err[errlen]. */
typedef int (*fileio_prefix_check)(void *ctx, const uint8_t *buf, size_t len, char *err,
                                   size_t errlen);

/* fileio_read_all that calls check (when not NULL) after each read, so that
 * input that is already known to be bad (say /dev/zero) is refused without
 * reading it up to max. The message is "PATH: <check's message>". */
int fileio_read_all_checked(const char *path, size_t max, fileio_prefix_check check, void *ctx,
                            uint8_t **out, size_t *outlen, char *err, size_t errlen);

/* Writes data[0..len) to path all or nothing:
 *  - the data goes to an unnamed temporary file in path's directory
 *    (O_TMPFILE; where the file system has none, a new file with a random
 *    name opened with O_EXCL | O_NOFOLLOW), mode 0600 (less the umask) or
 *    the one fileio_set_create_mode set;
 *  - it is fsynced, then linked to path when nothing has that name (no
 *    temporary name ever exists), else given a random temporary name and
 *    renamed over path; the directory is fsynced;
 *  - path is replaced only when it is a regular file, a symbolic link or
 *    absent. A link is replaced itself, never followed: its target is not
 *    touched (the profiler's rule for a link planted at its file's name). A
 *    device, fifo, socket or directory is refused and left untouched.
 *    Callers that must not replace a link either (the command's -o) check
 *    first;
 *  - SIGXFSZ is blocked while writing: a file size limit (ulimit -f) gives
 *    an "EFBIG" message instead of killing the process;
 *  - on any failure nothing is left behind and path is as it was. */
int fileio_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);

/* 0 when path names a regular file or nothing; -1 with "PATH: is a
 * symbolic link, not a regular file: refusing to replace it" (or fifo,
 * device, ...) otherwise. Does not follow a link. For writers stricter than
 * fileio_write_atomic, such as the command's -o. */
int fileio_check_regular(const char *path, char *err, size_t errlen);

/* Several files written all or nothing (as far as renames allow): each
 * fileio_batch_add writes its data to a complete, synced temporary beside its
 * path (as fileio_write_atomic does, same checks); fileio_batch_commit then
 * renames them all over their paths, fileio_batch_abort removes them. Either
 * ends the batch. Start from a zeroed batch: fileio_batch b = {0}.
 * A batch left behind by a killed process leaves its temporaries
 * (PATH.tmp.<random>) on disk. */
typedef struct fileio_batch {
  struct {
    char *path, *tmp;
  } * v;
  size_t n, cap;
} fileio_batch;

int fileio_batch_add(fileio_batch *b, const char *path, const void *data, size_t len, char *err,
                     size_t errlen);
int fileio_batch_commit(fileio_batch *b, char *err, size_t errlen);
void fileio_batch_abort(fileio_batch *b);

/* write() until done, retrying on EINTR, with SIGXFSZ blocked in the calling
 * thread (a write past the file size limit fails with EFBIG and the signal
 * it raised is discarded). Returns 0, or -1 with errno set. */
int fileio_write_full(int fd, const void *data, size_t len);

/* The mode every file written from now on is created with, less the umask
 * (as open() takes it). The default, 0600, is for the profiler inside
 * someone's service: its profiles hold the program's insides, readable by
 * the service's user only. The command's outputs are the user's own files
 * and follow the umask as cp and gzip do: it sets 0666 once at start. The
 * library never calls this. Not thread-safe; call before writing. */
void fileio_set_create_mode(unsigned mode);

/* Whether fileio_write_atomic tries O_TMPFILE first (the default). Tests
 * switch it off to exercise the named-temporary fallback. Not thread-safe;
 * for tests only. */
void fileio_set_use_tmpfile(bool use);

#endif
