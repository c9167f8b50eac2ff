# Benchmarks: bench/<name>.c -> bench_<name>. Built with the project, run by `make bench`.
file(GLOB WEFT_BENCHES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bench/*.c)
foreach(src ${WEFT_BENCHES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(bench_${name} ${src})
  target_include_directories(bench_${name} PRIVATE ${CMAKE_SOURCE_DIR}/lib)
  target_link_libraries(bench_${name} PRIVATE weftlib)
endforeach()
