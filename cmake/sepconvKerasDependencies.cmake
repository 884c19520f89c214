# The libraries sepconv_keras reads Keras files with, found through pkg-config, both in this build
# and (installed beside sepconvConfig.cmake) in projects that find the package: imported targets
# PkgConfig::SEPCONV_HDF5 (the HDF5 C library) and PkgConfig::SEPCONV_ZIP (libzip).
# pkg-config rather than CMake packages: Debian's libhdf5-dev ships no CMake package (and CMake's
# FindHDF5 needs the C language enabled in the project that calls it), and Debian 12's libzip CMake
# package refers to tools libzip-dev does not install.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(SEPCONV_HDF5 QUIET IMPORTED_TARGET GLOBAL hdf5)
  pkg_check_modules(SEPCONV_ZIP QUIET IMPORTED_TARGET GLOBAL libzip)
endif()
if(TARGET PkgConfig::SEPCONV_HDF5 AND TARGET PkgConfig::SEPCONV_ZIP)
  set(sepconv_keras_DEPENDENCIES_FOUND TRUE)
else()
  set(sepconv_keras_DEPENDENCIES_FOUND FALSE)
endif()
