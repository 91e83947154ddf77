// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration files, in CRIU's format: "tcp-established" or
 * "log-file /tmp/x" on a line stand for --tcp-established and
 * --log-file /tmp/x.  The command line reads /etc/criu/default.conf,
 * ~/.criu/default.conf and $CRIU_CONFIG_FILE (unless
 * --no-default-config), then --config FILE, then its own options, which
 * win.  An RPC request's config_file is read after its criu_opts and wins
 * over them; one that cannot be opened is skipped, as a default file is
 * (runc names /etc/criu/runc.conf whether it exists or not).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "util.h"

#define MAX_WORDS 256

/* Split a line into words: spaces apart, "..." or '...' kept whole. */
static int split_line(char *line, char **words, int *n)
{
	char *p = line;

	while (*p) {
		char q = 0, *w;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			break;
		if (*p == '"' || *p == '\'')
			q = *p++;
		w = p;
		while (*p && (q ? *p != q : !(*p == ' ' || *p == '\t' || *p == '\n' ||
					     *p == '\r')))
			p++;
		if (q && !*p)
			return -1;	/* an unclosed quote */
		if (*p)
			*p++ = '\0';
		if (*n >= MAX_WORDS - 1)
			return -1;
		words[(*n)++] = w;
	}
	return 0;
}

/* The words stay allocated: options keep pointers to their arguments. */
static int config_to_args(FILE *f, const char *path, char **argv, int *argc)
{
	char line[4096];
	int lineno = 0, first;

	while (fgets(line, sizeof(line), f)) {
		char *w = xstrdup(line);

		lineno++;
		if (!w)
			return -1;
		first = *argc;
		if (split_line(w, argv, argc)) {
			fprintf(stderr, "criu: %s:%d: cannot read this line\n", path, lineno);
			return -1;
		}
		if (*argc > first && argv[first][0] != '-') {
			/* the option's name: give it its dashes back */
			char *o = malloc(strlen(argv[first]) + 3);

			if (!o)
				return -1;
			sprintf(o, "--%s", argv[first]);
			argv[first] = o;
		}
	}
	return 0;
}

int parse_config_file(const char *path, bool missing_ok)
{
	char *argv[MAX_WORDS + 1] = { "criu" };
	int argc = 1, ret = -1;
	FILE *f = fopen(path, "r");

	if (!f) {
		/* a default file or runc's: one we cannot open is skipped, as CRIU does */
		if (missing_ok) {
			pr_debug("configuration file %s skipped: %s\n", path, strerror(errno));
			return 0;
		}
		fprintf(stderr, "criu: cannot read configuration file %s: %s\n", path,
			strerror(errno));
		pr_perror("cannot read configuration file %s", path);
		return -1;
	}
	if (!config_to_args(f, path, argv, &argc)) {
		argv[argc] = NULL;
		pr_info("configuration file %s: %d words\n", path, argc - 1);
		ret = cr_parse_args(argc, argv);
		if (ret)
			pr_err("configuration file %s has an option criu refused\n", path);
	}
	fclose(f);
	return ret;
}

int read_config_files(int argc, char **argv)
{
	const char *given = NULL, *env, *home;
	bool defaults = true;
	char path[4096];
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-default-config"))
			defaults = false;
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			given = argv[++i];
		else if (!strncmp(argv[i], "--config=", 9))
			given = argv[i] + 9;
	}
	if (defaults) {
		if (parse_config_file("/etc/criu/default.conf", true))
			return -1;
		home = getenv("HOME");
		if (home) {
			snprintf(path, sizeof(path), "%s/.criu/default.conf", home);
			if (parse_config_file(path, true))
				return -1;
		}
		env = getenv("CRIU_CONFIG_FILE");
		if (env && parse_config_file(env, false))
			return -1;
	}
	return given ? parse_config_file(given, false) : 0;
}
