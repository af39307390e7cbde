#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# deb-version.sh - the Debian version make deb gives the package:
# 0.1.0+N.gHASH, N the commits up to HEAD (so a later commit sorts newer),
# 0.1.0 outside a git checkout.
base=0.1.0
n=$(git rev-list --count HEAD 2>/dev/null) || n=
h=$(git rev-parse --short=7 HEAD 2>/dev/null) || h=
if [ -n "$n" ] && [ -n "$h" ]; then
	echo "$base+$n.g$h"
else
	echo "$base"
fi
