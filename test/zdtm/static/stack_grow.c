// SPDX-License-Identifier: GPL-2.0-only
/*
 * The main stack: the test waits at the bottom of a deep recursion, each
 * frame holding its own data.  Afterwards it recurses much deeper, so the
 * stack must still be able to grow, and then checks every frame on the
 * way back up.
 */
#include <string.h>

#include "zdtmtst.h"

#define FRAME_SIZE 4096
#define DEPTH_BEFORE 256 /* about 1 MiB of stack at the checkpoint */
#define DEPTH_AFTER 1024 /* about 4 MiB more after it */

static unsigned long stack_start_before;
static int bad_frames;

static unsigned long stack_vma_start(void *sp)
{
	unsigned long start, end;
	char perms[5], path[64];

	if (find_vma((unsigned long)sp, &start, &end, perms, path, sizeof(path)))
		return 0;
	if (strcmp(path, "[stack]"))
		return 0;
	return start;
}

static int deeper(int depth, int limit, uint32_t salt);

/* At the checkpoint's depth: wait there, then go on growing. */
static int bottom(char *frame)
{
	unsigned long now;

	stack_start_before = stack_vma_start(frame);
	if (!stack_start_before) {
		fail("the deep frame %p is not in [stack]", frame);
		return 1;
	}
	test_daemon();
	test_waitsig();

	if (deeper(0, DEPTH_AFTER, 2))
		return 1;
	now = stack_vma_start(frame);
	if (!now || now >= stack_start_before) {
		fail("[stack] did not grow: %lx -> %lx", stack_start_before, now);
		return 1;
	}
	return 0;
}

static int deeper(int depth, int limit, uint32_t salt)
{
	volatile char frame[FRAME_SIZE];
	int ret;

	datagen((char *)frame, sizeof(frame), salt * 100000 + depth);
	if (depth == limit)
		ret = salt == 1 ? bottom((char *)frame) : 0;
	else
		ret = deeper(depth + 1, limit, salt);

	if (datachk((char *)frame, sizeof(frame), salt * 100000 + depth) != (size_t)-1)
		bad_frames++;
	return ret;
}

int main(int argc, char **argv)
{
	test_init(argc, argv);
	if (deeper(0, DEPTH_BEFORE, 1))
		return 1;
	if (bad_frames) {
		fail("%d stack frames were corrupted", bad_frames);
		return 1;
	}
	pass();
	return 0;
}
