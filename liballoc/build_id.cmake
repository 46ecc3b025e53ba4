# build_id.cmake: the identity both halves of the profiler are built with,
# generated/mprof_build_id.h (MPROF_DUMPER_ABI). Included from
# liballoc/CMakeLists.txt. liballoc.so refuses a liballoc_dump.so whose hook
# carries another identity (mprof_dumper.c): the dumping half uses
# liballoc's internal functions and structures, so one of another build may
# read them wrongly. The identity is a hash of every header of liballoc (what
# the dumping half can see of it) and of the settings that change their
# layout, so any change to them changes it, with no number to bump by hand.
# Provides:
#   function  mprof_build_id(TARGET DIR SALT)  a custom target TARGET making
#             DIR/mprof_build_id.h; a non-empty SALT makes the identity of
#             another build (tests/integration: a dumping half of another build)
#   target    mprof_build_id_h         the build's own, in SIZECLASSES_INCLUDE_DIR

function(mprof_build_id target dir salt)
  set(root ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
  file(GLOB headers CONFIGURE_DEPENDS ${root}/*.h ${root}/include/*.h)
  string(REPLACE ";" "|" header_arg "${headers}")
  file(MAKE_DIRECTORY ${dir})
  add_custom_command(
    OUTPUT ${dir}/mprof_build_id.h
    COMMAND ${CMAKE_COMMAND} -DOUT=${dir}/mprof_build_id.h "-DHEADERS=${header_arg}"
            -DROOT=${root} "-DSETTINGS=debug=${ALLOC_DEBUG} sanitize=${ALLOC_SANITIZE} salt=${salt}"
            -P ${root}/build_id_gen.cmake
    DEPENDS ${headers} ${root}/build_id_gen.cmake
    COMMENT "Generating the profiler's build identity ${dir}/mprof_build_id.h"
    VERBATIM)
  add_custom_target(${target} DEPENDS ${dir}/mprof_build_id.h)
endfunction()

mprof_build_id(mprof_build_id_h ${SIZECLASSES_INCLUDE_DIR} "")
