# symbolize.cmake: the symbolizer library (analyzer/symbolize.c), pc -> function/file/line with
# elfutils' libdwfl. Included by analyzer/CMakeLists.txt. Owns only the lg_symbolize target.
# stdc++ is linked for __cxa_demangle (C++ names); nothing else of C++ is used.
add_library(lg_symbolize STATIC ${CMAKE_CURRENT_LIST_DIR}/symbolize.c)
target_include_directories(lg_symbolize PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(lg_symbolize PUBLIC PkgConfig::LIBDW stdc++)
lg_sanitize(lg_symbolize)
