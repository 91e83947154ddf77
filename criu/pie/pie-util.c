// SPDX-License-Identifier: GPL-2.0
/* Helpers for the freestanding restorer: memory, formatting, errors. */
#include <stdarg.h>

#include "pie-util.h"

/* The compiler may emit calls to these for struct copies and zeroing. */
void *memset(void *s, int c, size_t n) __attribute__((visibility("hidden")));
void *memcpy(void *d, const void *s, size_t n) __attribute__((visibility("hidden")));

void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *rst_memset(void *s, int c, size_t n)
{
	/* a volatile store loop: the compiler must not turn it into memset() */
	volatile unsigned char *p = s;

	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

struct outbuf {
	char buf[256];
	unsigned int len;
};

static void put_char(struct outbuf *o, char c)
{
	if (o->len < sizeof(o->buf))
		o->buf[o->len++] = c;
}

static void put_str(struct outbuf *o, const char *s)
{
	if (!s)
		s = "(null)";
	while (*s)
		put_char(o, *s++);
}

static void put_num(struct outbuf *o, uint64_t v, unsigned int base, int neg)
{
	char tmp[24];
	int n = 0;

	if (neg)
		put_char(o, '-');
	do {
		unsigned int d = v % base;

		tmp[n++] = d < 10 ? '0' + d : 'a' + d - 10;
		v /= base;
	} while (v);
	while (n)
		put_char(o, tmp[--n]);
}

void rst_log(int fd, const char *fmt, ...)
{
	struct outbuf o;
	va_list ap;

	o.len = 0;
	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		int is_long = 0;
		int64_t sv;

		if (*fmt != '%') {
			put_char(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == 'l') {
			is_long = 1;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
			sv = is_long ? va_arg(ap, long) : va_arg(ap, int);
			put_num(&o, sv < 0 ? -(uint64_t)sv : (uint64_t)sv, 10, sv < 0);
			break;
		case 'u':
			put_num(&o, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int),
				10, 0);
			break;
		case 'x':
			put_num(&o, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int),
				16, 0);
			break;
		case 's':
			put_str(&o, va_arg(ap, const char *));
			break;
		case 'c':
			put_char(&o, (char)va_arg(ap, int));
			break;
		case '%':
			put_char(&o, '%');
			break;
		default:
			put_char(&o, '?');
			break;
		}
	}
	va_end(ap);
	if (fd >= 0)
		sys_write(fd, o.buf, o.len);
}

const char *rst_strerror(long err)
{
	/* a switch, not a table of pointers: the blob has no relocations */
	switch (-err) {
	case 1: return "EPERM";
	case 2: return "ENOENT";
	case 3: return "ESRCH";
	case 9: return "EBADF";
	case 11: return "EAGAIN";
	case 12: return "ENOMEM";
	case 13: return "EACCES";
	case 14: return "EFAULT";
	case 16: return "EBUSY";
	case 17: return "EEXIST";
	case 22: return "EINVAL";
	case 24: return "EMFILE";
	case 28: return "ENOSPC";
	case 38: return "ENOSYS";
	default: return "error";
	}
}
