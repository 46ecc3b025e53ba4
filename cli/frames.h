/* frames.h: names for frames that have no symbol, the same from run to run,
 * so that comparing two profiles (diff, gate, flame --base, merge) matches
 * such frames up instead of reporting one gone and another new.
 *
 * A frame has no symbol when its location has no line, when its function
 * has neither name nor system name, or when it is named by a raw address
 * ("0x7f76d2fd5c88", as older profiles and other tools name it). Its
 * absolute address moves with ASLR; what does not move is the object it is
 * in and its offset in that object's file: address - mapping start +
 * mapping file offset. Such a frame is named "OBJECT+0xOFFSET", OBJECT the
 * basename of its mapping's file, as liballoc itself names it when it
 * writes a profile (libprof/profile.c), for example
 * "_json.cpython-311-x86_64-linux-gnu.so+0x5c88".
 *
 * Objects are told apart by build ID when their mapping has one, else by
 * the file's basename: the same build ID under two file names is one
 * object (named after the first name seen); two builds under one file name
 * are two objects, named "OBJECT@BUILDID+0xOFFSET" (the build ID's first
 * 12 hex digits) so that their offsets, which mean different code, do not
 * meet. A frame liballoc named already ("OBJECT+0xOFFSET" matching its
 * location) is named again the same way, which gives it that build-ID
 * identity. A frame outside any mapping keeps its address.
 *
 * A symbolized profile (allocprof symbolize) and an unsymbolized one of the
 * same code name the same frame differently: "inner" in one, "lib.so+0x1a2b"
 * in the other. Among the profiles named together, a location whose frames
 * have no name takes the lines (functions, files, lines, inlined calls) of
 * another profile's location at the same object and offset whose frames all
 * have names (frames_match.c), so that they compare and merge as one. */
#ifndef CLI_FRAMES_H
#define CLI_FRAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "profile_io.h"

/* Gives every frame without a symbol in ps[0..n) (valid profiles) its
 * object+offset name, in place: each such frame gets a Function of its own
 * with that name and system name. Objects are identified across all n
 * profiles together, so call it once with every profile that will be
 * compared or merged. Returns 0, or -1 after printing (out of memory). */
int cli_name_frames(profile_pb *const *ps, size_t n);

/* Whether no frame of l names a symbol (each is as above: no name, a raw
 * address, or its own object+offset name, label being the object's name
 * in such names: NULL for its basename, else its build ID's first digits),
 * l being inside its mapping. ix is p's index (profile_index.h). */
bool cli_location_unnamed(const profile_pb *p, const profile_index *ix,
                          const Perftools__Profiles__Location *l, const char *label);

/* Whether every frame of l names a symbol (and it has lines). */
bool cli_location_named(const profile_pb *p, const profile_index *ix,
                        const Perftools__Profiles__Location *l, const char *label);

/* For cli_name_frames (frames_match.c): gives each location of ps[0..n)
 * without a name the lines of a named location of another profile at the
 * same object and offset. labels[k][i] is the object label of profile k's
 * mapping i (NULL: none); one object, one label pointer. Returns 0, or -1
 * (out of memory: the profiles stay valid). */
int cli_match_frames(profile_pb *const *ps, size_t n, const char *const *const *labels);

#endif
