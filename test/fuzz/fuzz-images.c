// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: everything criu reads and checks before it forks a
 * restored tree.  An input is a small archive of image files:
 *
 *	{ u8 kind; u32 id; u32 len; u8 data[len]; } ...
 *
 * (little endian), written into a directory on tmpfs (a pages file given
 * in 8 bytes is a page count: a sparse file of that size, as only its size
 * is read before the fork); then
 * restore_read_images() reads and checks them as `criu restore` would,
 * and restore_free_images() forgets them.  mkseed.py packs an image
 * directory into such an archive for the seed corpus.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cr_options.h"
#include "image.h"
#include "log.h"
#include "restore.h"

/* must match mkseed.py */
static const char *const kinds[] = {
	"inventory.img", "pstree.img", "core-%u.img", "mm-%u.img", "ids-%u.img", "fs-%u.img",
	"fdinfo-%u.img", "pagemap-%u.img", "pages-%u.img", "files.img", "seccomp.img",
	"cpuinfo.img",
};
#define NR_KINDS (sizeof(kinds) / sizeof(kinds[0]))
#define PAGES_KIND 8
#define MAX_FILES 64

static char dir[PATH_MAX];
static char names[MAX_FILES][64];
static int nr_names;

static void cleanup(void)
{
	char path[PATH_MAX + 64];

	while (nr_names) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[--nr_names]);
		unlink(path);
	}
}

static int put_file(unsigned int kind, uint32_t id, const uint8_t *data, uint32_t len)
{
	char path[PATH_MAX + 64], *name = names[nr_names];
	int fd;

	if (nr_names == MAX_FILES)
		return -1;
	snprintf(name, 64, kinds[kind], id);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	nr_names++;
	if (kind == PAGES_KIND && len == 8) {
		uint64_t pages;

		memcpy(&pages, data, 8);
		if (ftruncate(fd, (off_t)(pages % (1 << 20)) * 4096)) {
			close(fd);
			return -1;
		}
		return close(fd);
	}
	if (len && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int unpack(const uint8_t *d, size_t n)
{
	while (n >= 9) {
		uint32_t id, len;

		memcpy(&id, d + 1, 4);
		memcpy(&len, d + 5, 4);
		if (len > n - 9)
			len = n - 9;
		if (put_file(d[0] % NR_KINDS, id % 100000, d + 9, len))
			return -1;
		d += 9 + len;
		n -= 9 + len;
	}
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/dev/shm/criu-fuzz-%d", getpid());
	if (mkdir(dir, 0700) && access(dir, W_OK)) {
		perror(dir);
		exit(1);
	}
	/* errors are the expected outcome: FUZZ_LOG=FILE to see them (-v4) */
	if (log_init(getenv("FUZZ_LOG") ?: "/dev/null", getenv("FUZZ_LOG") ? 4 : 0))
		exit(1);
	opts.shell_job = true;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!unpack(data, size) && !open_image_dir(dir, false)) {
		restore_read_images();
		restore_free_images();
		close_image_dir();
	}
	cleanup();
	return 0;
}
