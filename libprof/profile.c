/* profile.c: being written. */
