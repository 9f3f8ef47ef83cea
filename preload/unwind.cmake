# lg_unwind: the fast unw_backtrace (preload/unwind.c), a static PIC library for the shim and
# its tests. Included from preload/ and from tests/unwind/; defined once.
include_guard(GLOBAL)
add_library(lg_unwind STATIC ${CMAKE_CURRENT_LIST_DIR}/unwind.c)
set_target_properties(lg_unwind PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_include_directories(lg_unwind PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_compile_options(lg_unwind PRIVATE -fvisibility=hidden)
target_link_libraries(lg_unwind PUBLIC PkgConfig::LIBDW PkgConfig::LIBUNWIND Threads::Threads)
