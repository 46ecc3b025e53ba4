/* triggers.c: being written. */
