// SPDX-License-Identifier: GPL-2.0
/*
 * What identifies the exe or a mapped file of a task: size, mtime and the
 * ELF build-id.  The dump records them in the file's reg_file_entry; the
 * restore refuses a file at the same path that is no longer the same build
 * (files-reg.c), rather than running other code than was dumped.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "file-id.h"
#include "util.h"

#define BUILD_ID_MAX 64		/* bytes; SHA-1 ones are 20 */
#define NOTES_MAX (64 << 10)	/* of one PT_NOTE segment read */

/* The NT_GNU_BUILD_ID note of one PT_NOTE segment, or 0. */
static size_t note_build_id(int fd, const Elf64_Phdr *ph, u8 *out)
{
	size_t len = min(ph->p_filesz, (u64)NOTES_MAX), off = 0, got = 0;
	u8 *buf = xmalloc(len);

	if (!buf || pread_all(fd, buf, len, ph->p_offset) != (ssize_t)len)
		goto out;
	while (off + sizeof(Elf64_Nhdr) <= len) {
		Elf64_Nhdr nh;
		size_t name_at = off + sizeof(nh), desc_at;

		memcpy(&nh, buf + off, sizeof(nh));
		desc_at = name_at + ((nh.n_namesz + 3) & ~3UL);
		if (desc_at + nh.n_descsz > len)
			break;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    !memcmp(buf + name_at, "GNU", 4) && nh.n_descsz &&
		    nh.n_descsz <= BUILD_ID_MAX) {
			memcpy(out, buf + desc_at, nh.n_descsz);
			got = nh.n_descsz;
			break;
		}
		off = desc_at + ((nh.n_descsz + 3) & ~3UL);
	}
out:
	free(buf);
	return got;
}

/* The build-id of a 64-bit ELF file, from its program headers; 0 if none. */
static size_t read_build_id(int fd, u8 *out)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	size_t got = 0;
	int i;

	if (pread_all(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(ph))
		return 0;
	for (i = 0; i < eh.e_phnum && i < 256 && !got; i++) {
		if (pread_all(fd, &ph, sizeof(ph), eh.e_phoff + (u64)i * sizeof(ph)) != sizeof(ph))
			break;
		if (ph.p_type == PT_NOTE)
			got = note_build_id(fd, &ph, out);
	}
	return got;
}

u64 mtime_ns(const struct stat *st)
{
	return (u64)st->st_mtim.tv_sec * 1000000000ULL + st->st_mtim.tv_nsec;
}

/*
 * An exe or mapped file is code or data the task was built against: keep
 * its mtime and build-id (as CRIU packs it: the bytes in u32 words, the last
 * one zero-padded) so that restore can tell another build at the same path.
 */
int note_identity(struct fd_parms *p, RegFileEntry *re)
{
	u8 bid[BUILD_ID_MAX] = { 0 };
	size_t n = 0;
	int fd;

	re->has_mtime_ns = true;
	re->mtime_ns = mtime_ns(&p->st);
	fd = open(p->proc_path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read_build_id(fd, bid);
		close(fd);
	} else {
		pr_info("cannot open %s for its build-id: %s\n", p->proc_path, strerror(errno));
	}
	if (!n)
		return 0;
	re->n_build_id = (n + 3) / 4;
	re->build_id = xzalloc(re->n_build_id * 4);
	if (!re->build_id)
		return -1;
	memcpy(re->build_id, bid, n);
	return 0;
}

static void fmt_build_id(const u8 *b, size_t n, char *buf, size_t len)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < n && 2 * i + 3 <= len; i++)
		snprintf(buf + 2 * i, 3, "%02x", b[i]);
	if (!n)
		snprintf(buf, len, "none");
}

static void fmt_mtime(u64 ns, char *buf, size_t len)
{
	time_t t = ns / 1000000000ULL;
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09llu UTC", (unsigned long long)(ns % 1000000000ULL));
}

/* Append to buf (holding *off bytes), cut at len. */
static void add_change(char *buf, size_t len, size_t *off, const char *fmt, const char *a,
		       const char *b)
{
	if (*off < len)
		*off += snprintf(buf + *off, len - *off, fmt, a, b);
}

/*
 * What changed of the file of re, open at fd (-1: only stat()ed, no
 * build-id to read), into buf ("" if nothing).
 */
void identity_changes(RegFileEntry *re, int fd, const struct stat *st, char *buf,
		      size_t len)
{
	u8 now[BUILD_ID_MAX] = { 0 };
	char a[2 * BUILD_ID_MAX + 8], b[2 * BUILD_ID_MAX + 8];
	size_t n, off = 0, was = re->n_build_id * 4;

	buf[0] = '\0';
	if (re->has_size && (u64)st->st_size != re->size) {
		snprintf(a, sizeof(a), "%llu", (unsigned long long)re->size);
		snprintf(b, sizeof(b), "%lld", (long long)st->st_size);
		add_change(buf, len, &off, "size %s -> %s, ", a, b);
	}
	if (re->n_build_id && fd >= 0) {
		n = read_build_id(fd, now);
		/* the image's words are zero-padded: compare what they hold */
		while (was > n && !((u8 *)re->build_id)[was - 1])
			was--;
		if (n != was || memcmp(now, re->build_id, n)) {
			fmt_build_id((u8 *)re->build_id, was, a, sizeof(a));
			fmt_build_id(now, n, b, sizeof(b));
			add_change(buf, len, &off, "build-id %s -> %s, ", a, b);
		}
	}
	if (re->has_mtime_ns && mtime_ns(st) != re->mtime_ns) {
		fmt_mtime(re->mtime_ns, a, sizeof(a));
		fmt_mtime(mtime_ns(st), b, sizeof(b));
		add_change(buf, len, &off, "mtime %s -> %s, ", a, b);
	}
	if (off >= 2 && off < len)
		buf[off - 2] = '\0';
}
