# Compile options shared by every balrog target: warnings (errors in CI) and sanitizers.
add_library(balrog_compile_options INTERFACE)
add_library(balrog::compile_options ALIAS balrog_compile_options)

# A target that sets BALROG_GCC_FALSE_POSITIVES (the Clang-based tool: cmake/BalrogClang.cmake)
# drops the warnings GCC 12 reports falsely inside Clang's inline code at -O3.
set(_balrog_noisy "$<BOOL:$<TARGET_PROPERTY:BALROG_GCC_FALSE_POSITIVES>>")
target_compile_options(balrog_compile_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual $<$<NOT:${_balrog_noisy}>:-Wnull-dereference> -Wimplicit-fallthrough
  $<${_balrog_noisy}:-Wno-restrict>
  $<$<BOOL:${BALROG_WERROR}>:-Werror>)

if(BALROG_SANITIZE)
  # Fiber switches are announced to ASan with __sanitizer_{start,finish}_switch_fiber
  # (runtime/src/context/sanitizer.hpp); BALROG_ASAN turns those calls on.
  target_compile_options(balrog_compile_options INTERFACE
    -fsanitize=${BALROG_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(balrog_compile_options INTERFACE -fsanitize=${BALROG_SANITIZE})
  if(BALROG_SANITIZE MATCHES "address")
    target_compile_definitions(balrog_compile_options INTERFACE BALROG_ASAN=1)
  endif()
  if(BALROG_SANITIZE MATCHES "thread")  # fiber switches announced to TSan (same header)
    target_compile_definitions(balrog_compile_options INTERFACE BALROG_TSAN=1)
  endif()
endif()
