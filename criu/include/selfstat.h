/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_SELFSTAT_H
#define CR_SELFSTAT_H

/* Log criu's own open fds and peak RSS (for leak tests). */
void log_own_resources(const char *cmd);

#endif
