# Installation and the CMake package: find_package(sepconv 0.1 CONFIG REQUIRED) then link
# sepconv::sepconv.
include(CMakePackageConfigHelpers)

set(SEPCONV_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/sepconv")

install(TARGETS sepconv EXPORT sepconvTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/sepconv DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h" PATTERN "keras.h" EXCLUDE)  # keras.h: with sepconv_keras
install(FILES "${PROJECT_BINARY_DIR}/include/sepconv/version.h"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/sepconv)
install(EXPORT sepconvTargets
  NAMESPACE sepconv::
  DESTINATION ${SEPCONV_INSTALL_CMAKEDIR})

configure_package_config_file(cmake/sepconvConfig.cmake.in
  "${PROJECT_BINARY_DIR}/sepconvConfig.cmake"
  INSTALL_DESTINATION ${SEPCONV_INSTALL_CMAKEDIR})
# Before 1.0 every minor release may change the API: 0.1.x satisfies a request for 0.1 only.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/sepconvConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/sepconvConfig.cmake"
  "${PROJECT_BINARY_DIR}/sepconvConfigVersion.cmake"
  DESTINATION ${SEPCONV_INSTALL_CMAKEDIR})
