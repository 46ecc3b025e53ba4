# sizeclasses.cmake: builds the size-class generator (mksizeclasses.c) and
# runs it to produce generated/sizeclasses.h. Included from
# liballoc/CMakeLists.txt. Provides:
#   target  sizeclasses_h            depend on it before compiling the header's users
#   var     SIZECLASSES_INCLUDE_DIR  directory holding sizeclasses.h
# The generator checks its own table and fails the build if a bound drifts.

set(SIZECLASSES_INCLUDE_DIR ${CMAKE_CURRENT_BINARY_DIR}/generated)
set(sizeclasses_header ${SIZECLASSES_INCLUDE_DIR}/sizeclasses.h)
file(MAKE_DIRECTORY ${SIZECLASSES_INCLUDE_DIR})

add_executable(mksizeclasses ${CMAKE_CURRENT_SOURCE_DIR}/mksizeclasses.c)
# A build tool, not part of the allocator: drop the directory-wide options
# (sanitizers from ALLOC_SANITIZE among them) so it runs the same in every
# configuration; ThreadSanitizer in particular can refuse to start on some
# kernels, which would break the build rather than test anything.
set_property(TARGET mksizeclasses PROPERTY COMPILE_OPTIONS "")
set_property(TARGET mksizeclasses PROPERTY LINK_OPTIONS "")
target_compile_options(mksizeclasses PRIVATE -Wall -Wextra -Werror)

# Naming the target in COMMAND runs the freshly built binary (through
# CMAKE_CROSSCOMPILING_EMULATOR when one is set) and reruns on any change.
add_custom_command(
  OUTPUT ${sizeclasses_header}
  COMMAND mksizeclasses ${sizeclasses_header}
  DEPENDS mksizeclasses
  COMMENT "Generating size class table sizeclasses.h"
  VERBATIM)
add_custom_target(sizeclasses_h DEPENDS ${sizeclasses_header})
