# Debian package of mailtrack, built with CPack.
#
# Included at the end of the top-level CMakeLists.txt, after the `mailtrack`
# executable target exists:
#     include(${CMAKE_SOURCE_DIR}/deploy/packaging/Packaging.cmake)
# Build it with deploy/package.sh (configure Release, build, cpack -G DEB).
#
# Only the `mailtrack` install component goes into the package, so install
# rules of third-party subprojects (GoogleTest and the like) never leak in.

if(NOT TARGET mailtrack)
  message(FATAL_ERROR "Packaging.cmake: include it after add_executable(mailtrack ...)")
endif()

set(_mailtrack_pkg_dir "${CMAKE_CURRENT_LIST_DIR}")

include(GNUInstallDirs)

install(TARGETS mailtrack
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        COMPONENT mailtrack)

# Absolute destinations: these paths are fixed by Debian and systemd, not by
# the install prefix. (/lib, not /usr/lib: bookworm's dpkg still tracks units there.)
install(FILES "${_mailtrack_pkg_dir}/mailtrack.service"
        DESTINATION /lib/systemd/system
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        COMPONENT mailtrack)
install(FILES "${_mailtrack_pkg_dir}/mailtrack.toml"
        DESTINATION /etc/mailtrack
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
        COMPONENT mailtrack)
install(PROGRAMS "${_mailtrack_pkg_dir}/pam-login-notify"
        DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/mailtrack
        COMPONENT mailtrack)
install(FILES "${_mailtrack_pkg_dir}/mailtrack-login-notify.pam-config"
        DESTINATION ${CMAKE_INSTALL_DATADIR}/pam-configs
        RENAME mailtrack-login-notify
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
        COMPONENT mailtrack)

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "mailtrack")
set(CPACK_PACKAGE_VENDOR "mailtrack")
set(CPACK_PACKAGE_CONTACT "mailtrack maintainers <mailtrack@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "sends email through Amazon SES and tracks every message's fate")
set(CPACK_PACKAGE_DESCRIPTION
    "mailtrack sends email through Amazon SES and records each message's\n\
events (SES -> SNS -> SQS -> worker) in SQLite or MySQL. This package\n\
runs the worker as a hardened systemd service under its own user and\n\
installs a PAM hook that reports SSH logins to the alerts topic.")
if(PROJECT_VERSION)
  set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
else()
  set(CPACK_PACKAGE_VERSION "0.1.0")
endif()
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)

# One package holding exactly the mailtrack component.
set(CPACK_COMPONENTS_ALL mailtrack)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)

set(CPACK_DEBIAN_PACKAGE_NAME "mailtrack")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION "mail")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# passwd: useradd/groupadd; util-linux: setpriv, setsid; libpam-runtime:
# pam-auth-update; init-system-helpers: deb-systemd-helper/-invoke.
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "passwd, util-linux, libpam-runtime, libpam-modules, init-system-helpers, coreutils, ca-certificates")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${_mailtrack_pkg_dir}/debian/postinst"
    "${_mailtrack_pkg_dir}/debian/prerm"
    "${_mailtrack_pkg_dir}/debian/postrm"
    "${_mailtrack_pkg_dir}/debian/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
