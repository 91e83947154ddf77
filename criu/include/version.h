/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_VERSION_H
#define CR_VERSION_H

#define CR_VERSION "0.1.0"

#endif
