/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_CONFIG_H
#define CR_CONFIG_H

#include <stdbool.h>

/*
 * CRIU's configuration files: one option a line, its name without the
 * leading dashes, then its argument; '#' starts a comment.
 */
int parse_config_file(const char *path, bool missing_ok);
/* The command line: the default files, $CRIU_CONFIG_FILE, --config FILE. */
int read_config_files(int argc, char **argv);
/* crtools.c: parse one set of options (argv[0] is a name) */
int cr_parse_args(int argc, char **argv);

#endif
