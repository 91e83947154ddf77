/* SPDX-License-Identifier: GPL-2.0 */
#ifndef CR_LOG_H
#define CR_LOG_H

#include <errno.h>
#include <string.h>

enum {
	LOG_MSG = 0,	/* always shown, no prefix */
	LOG_ERROR = 1,
	LOG_WARN = 2,
	LOG_INFO = 3,
	LOG_DEBUG = 4,
};

#define DEFAULT_LOGLEVEL LOG_WARN

int log_init(const char *path, int level);
void log_fini(void);
int log_get_fd(void);
int log_get_err_fd(void);
int log_move_fds(int base);
/* An error that was already shown to the user: into the log only. */
#define pr_err_logged(fmt, ...) print_on_level(LOG_INFO, "Error: " fmt, ##__VA_ARGS__)
int log_level(void);
/* After fork(): tag lines with the new pid. */
void log_set_pid(void);
/* The first error of a run goes to stderr; tell whether one was printed. */
int log_errors(void);
/* The text of the first error, without the newline; NULL if none. */
const char *log_first_error(void);

void print_on_level(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_msg(fmt, ...) print_on_level(LOG_MSG, fmt, ##__VA_ARGS__)
#define pr_err(fmt, ...) print_on_level(LOG_ERROR, fmt, ##__VA_ARGS__)
#define pr_warn(fmt, ...) print_on_level(LOG_WARN, "warning: " fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...) print_on_level(LOG_INFO, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...) print_on_level(LOG_DEBUG, fmt, ##__VA_ARGS__)
/* An error caused by a failed call: appends errno's text. */
#define pr_perror(fmt, ...) \
	pr_err(fmt ": %s\n", ##__VA_ARGS__, strerror(errno))

#endif
