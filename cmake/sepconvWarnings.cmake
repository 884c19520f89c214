# sepconv_target_warnings(<target>): the project's warning flags for g++ and nvcc, as errors when
# SEPCONV_WARNINGS_AS_ERRORS is on. -lineinfo maps kernels back to source in Nsight and
# compute-sanitizer at no runtime cost; --use_fast_math is never used (it breaks CPU parity).
function(sepconv_target_warnings target)
  set(cxx_warnings -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion)
  set(cuda_host_warnings -Wall,-Wextra)
  if(SEPCONV_WARNINGS_AS_ERRORS)
    list(APPEND cxx_warnings -Werror)
    set(cuda_host_warnings "${cuda_host_warnings},-Werror")
    set(cuda_werror -Werror=all-warnings)
  endif()
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${cxx_warnings}>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=${cuda_host_warnings} ${cuda_werror} -lineinfo>)
endfunction()
