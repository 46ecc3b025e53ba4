/* errmsg.h: the one-line error messages every formats function returns in a
 * caller's (err, errlen) buffer. */
#ifndef FORMATS_ERRMSG_H
#define FORMATS_ERRMSG_H

#include <stddef.h>

/* printf into err (at most errlen bytes, always terminated); nothing when
 * err is NULL or errlen is 0. */
void formats_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* FORMATS_ERRMSG_H */
