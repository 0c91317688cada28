# Included by `cmake --install` (install(CODE) in CMakeLists.txt): writes the
# files whose contents depend on the install prefix, which is known only now
# (`cmake --install build --prefix /opt/flamed` may differ from configure time):
# flame.pc and flamed.service with its ExecStart= path.
#
# Set by the caller: FLAMED_SRC, FLAMED_VERSION, FLAMED_LIBDIR, FLAMED_BINDIR,
# FLAMED_INCLUDEDIR, FLAMED_UNITDIR (relative to the prefix, or absolute),
# FLAME_PC_LIBS, FLAME_PC_REQUIRES_KIND ("" for a static libflame, ".private").

function(flamed_dest out rel)
  if(IS_ABSOLUTE "${rel}")
    set(p "${rel}")
  else()
    set(p "${CMAKE_INSTALL_PREFIX}/${rel}")
  endif()
  set(${out} "$ENV{DESTDIR}${p}" PARENT_SCOPE)
endfunction()

set(FLAME_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
if(IS_ABSOLUTE "${FLAMED_LIBDIR}")
  set(FLAME_PC_LIBDIR "${FLAMED_LIBDIR}")
else()
  set(FLAME_PC_LIBDIR "\${prefix}/${FLAMED_LIBDIR}")
endif()
if(IS_ABSOLUTE "${FLAMED_INCLUDEDIR}")
  set(FLAME_PC_INCLUDEDIR "${FLAMED_INCLUDEDIR}")
else()
  set(FLAME_PC_INCLUDEDIR "\${prefix}/${FLAMED_INCLUDEDIR}")
endif()
flamed_dest(pcdir "${FLAMED_LIBDIR}/pkgconfig")
message(STATUS "Installing: ${pcdir}/flame.pc")
configure_file("${FLAMED_SRC}/cmake/flame.pc.in" "${pcdir}/flame.pc" @ONLY)

if(IS_ABSOLUTE "${FLAMED_BINDIR}")
  set(bindir "${FLAMED_BINDIR}")
else()
  set(bindir "${CMAKE_INSTALL_PREFIX}/${FLAMED_BINDIR}")
endif()
file(READ "${FLAMED_SRC}/k8s-free-deploy/flamed.service" unit)
string(REPLACE "/usr/local/bin/flamed" "${bindir}/flamed" unit "${unit}")
flamed_dest(unitdir "${FLAMED_UNITDIR}")
message(STATUS "Installing: ${unitdir}/flamed.service")
file(MAKE_DIRECTORY "${unitdir}")
file(WRITE "${unitdir}/flamed.service" "${unit}")
