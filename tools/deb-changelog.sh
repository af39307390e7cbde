#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# deb-changelog.sh VERSION - debian/changelog for make deb: one entry of
# VERSION on top of the committed debian/changelog (read from stdin's tree:
# the current directory's debian/changelog).
set -eu
v=$1
case $v in
[0-9]*) ;;
*) echo "deb-changelog: version '$v' must start with a digit (DEB_VERSION)" >&2; exit 1 ;;
esac
cat <<EOT
portier ($v) unstable; urgency=medium

  * Built by make deb from $(git rev-parse --short=7 HEAD 2>/dev/null || echo "a source tree").

 -- portier maintainers <portier@example.org>  $(git log -1 --format=%aD 2>/dev/null || date -R)

EOT
cat debian/changelog
