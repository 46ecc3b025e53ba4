/* fileio.h: whole-file reads and all-or-nothing file writes for the formats
 * library (temp file, fsync, rename). Overview: formats/README.md.
 *
 * Calls return 0 on success, -1 on failure with a one-line message that
 * starts with the path written to err[errlen].
 */
#ifndef FORMATS_FILEIO_H
#define FORMATS_FILEIO_H

#include <stddef.h>
#include <stdint.h>

/* Reads the whole regular file (or pipe) at path into *out (malloc'd; one
 * extra NUL byte past the end). Refuses files larger than max bytes. An empty
 * file is not an error here: *outlen is 0. */
int fileio_read_all(const char *path, size_t max, uint8_t **out, size_t *outlen, char *err,
                    size_t errlen);

/* Writes data[0..len) to path.tmp.<pid>, fsyncs it, renames it over path and
 * fsyncs the directory. On any failure the temp file is removed and path is
 * left as it was. */
int fileio_write_atomic(const char *path, const void *data, size_t len, char *err,
                        size_t errlen);

/* write() until done, retrying on EINTR. Returns 0, or -1 with errno set. */
int fileio_write_full(int fd, const void *data, size_t len);

#endif
