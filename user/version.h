/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
#ifndef PORTIER_VERSION_H
#define PORTIER_VERSION_H
#ifndef PORTIER_VERSION
#define PORTIER_VERSION "0.1.0"
#endif
#endif
