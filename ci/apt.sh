# shellcheck shell=bash
# Sourced by the CI scripts that install Debian packages.
#
# `apt_install PKG...` refreshes the package lists and installs PKG. A mirror
# caught mid-sync makes `apt-get update` fail on one index ("File has
# unexpected size ... Mirror sync in progress?"); that is retried, and when it
# persists the install goes on with the lists that did arrive (apt keeps
# them). Only a package that cannot be installed fails the run.
APT=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)

apt_update() {
    local try
    for try in 1 2 3; do
        "${APT[@]}" update -q && return 0
        [ "$try" = 3 ] && break
        echo "apt-get update failed (try $try of 3); retrying in $((try * 20)) s" >&2
        sleep $((try * 20))
    done
    echo "warning: apt-get update keeps failing; installing from the lists it fetched" >&2
}

apt_install() {
    apt_update
    DEBIAN_FRONTEND=noninteractive "${APT[@]}" install -y -q --no-install-recommends "$@"
}
