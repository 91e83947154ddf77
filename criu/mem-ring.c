// SPDX-License-Identifier: GPL-2.0
/*
 * The dump's copy ring: the main thread copies pages out of the task into
 * the next free buffer while a writer thread writes the full ones, in
 * order, into pages-N.img (or sends them to the page server), so the copy
 * and the write overlap.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image.h"
#include "mem.h"
#include "mem-internal.h"
#include "page-xfer.h"
#include "util.h"

#define NR_COPY_BUFS	4

static u8 *copy_area;
static struct copy_slot slots[NR_COPY_BUFS];
static unsigned int ring_head, ring_tail, ring_full;
static int ring_error;		/* errno of the first failed write */
static bool ring_stop;
static pthread_t writer;
static bool writer_running;
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ring_cond = PTHREAD_COND_INITIALIZER;
/*
 * A killing dump syncs its images at the end: past the first 64 MiB, the
 * writeback of each buffer is started as soon as it is written, so that
 * sync finds most of a big dump on disk.  A small dump is left to the one
 * fdatasync at the end: there is little to overlap, and sync_file_range()
 * can make the writer wait behind other I/O on a busy disk.
 */
#define EARLY_WRITEBACK_AFTER	(64ULL << 20)
static bool early_writeback;
static u64 ring_written;

/* Take full buffers from the ring in order and write each into its image. */
static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ring_lock);
	for (;;) {
		struct copy_slot *sl;
		u64 t0;
		int err = 0;

		while (!ring_full && !ring_stop)
			pthread_cond_wait(&ring_cond, &ring_lock);
		if (!ring_full)
			break;
		sl = &slots[ring_tail];
		pthread_mutex_unlock(&ring_lock);
		t0 = now_us();
		/* after an error, buffers are only handed back */
		if (ring_error)
			;
		else if (sl->nr_hdrs)
			err = page_xfer_send_batch(sl->hdrs, sl->nr_hdrs, sl->data);
		else if (img_write_raw(sl->img, sl->data, sl->len))
			err = errno ? errno : EIO;
		else if (early_writeback && (ring_written += sl->len) > EARLY_WRITEBACK_AFTER)
			img_start_writeback(sl->img, sl->img->off - sl->len, sl->len);
		pthread_mutex_lock(&ring_lock);
		dstats.memwrite_us += now_us() - t0;
		if (err && !ring_error)
			ring_error = err;
		ring_tail = (ring_tail + 1) % NR_COPY_BUFS;
		ring_full--;
		pthread_cond_broadcast(&ring_cond);
	}
	pthread_mutex_unlock(&ring_lock);
	return NULL;
}

/* The next free buffer of the ring; waits for the writer if need be. */
struct copy_slot *mem_ring_get(void)
{
	struct copy_slot *sl;

	pthread_mutex_lock(&ring_lock);
	while (ring_full == NR_COPY_BUFS)
		pthread_cond_wait(&ring_cond, &ring_lock);
	sl = &slots[ring_head];
	pthread_mutex_unlock(&ring_lock);
	return sl;
}

void mem_ring_put(struct copy_slot *sl, struct cr_img *img, size_t len)
{
	pthread_mutex_lock(&ring_lock);
	sl->img = img;
	sl->len = len;
	ring_head = (ring_head + 1) % NR_COPY_BUFS;
	ring_full++;
	pthread_cond_broadcast(&ring_cond);
	pthread_mutex_unlock(&ring_lock);
}

/*
 * With nothing queued the caller may write a buffer itself, saving the
 * two thread switches of a hand-off it would only wait for: the free head
 * slot then, NULL while the writer is busy or after a failed write.
 */
struct copy_slot *mem_ring_idle(void)
{
	struct copy_slot *sl = NULL;

	pthread_mutex_lock(&ring_lock);
	if (!ring_full && !ring_error)
		sl = &slots[ring_head];
	pthread_mutex_unlock(&ring_lock);
	return sl;
}

/* Write an idle slot's buffer in the calling thread, as the writer would. */
int mem_ring_write_now(struct copy_slot *sl, struct cr_img *img, size_t len)
{
	u64 t0 = now_us();

	if (img_write_raw(img, sl->data, len))
		return -1;
	if (early_writeback)
		img_start_writeback(img, img->off - len, len);
	dstats.memwrite_us += now_us() - t0;
	return 0;
}

/* Wait until everything queued is written; -1 if a write failed. */
int mem_ring_drain(void)
{
	int err;

	pthread_mutex_lock(&ring_lock);
	while (ring_full)
		pthread_cond_wait(&ring_cond, &ring_lock);
	err = ring_error;
	pthread_mutex_unlock(&ring_lock);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/*
 * Fault the ring in before the tree is frozen (first-touch faults are
 * expensive on this machine), but only as much of it as the pages
 * expected (the root's RSS) can fill: a small dump does not pay for
 * 16 MiB.  Whatever a bigger tree needs beyond that faults in on use.
 */
static void populate_ring(u64 expect)
{
	size_t min_len = 256UL << 10;
	int i;

	for (i = 0; i < NR_COPY_BUFS; i++) {
		u64 left = expect > i * COPY_BUF_SIZE ? expect - i * COPY_BUF_SIZE : 0;
		size_t len = left >= COPY_BUF_SIZE ? COPY_BUF_SIZE : max((size_t)left, min_len);

		if (madvise(copy_area + i * COPY_BUF_SIZE, len, MADV_POPULATE_WRITE))
			pr_debug("cannot fault in the copy ring: %s\n", strerror(errno));
	}
}

int mem_ring_init(bool writeback, u64 expect_bytes)
{
	int i;

	early_writeback = writeback;
	ring_written = 0;
	copy_area = mmap(NULL, NR_COPY_BUFS * COPY_BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (copy_area == MAP_FAILED) {
		copy_area = NULL;
		pr_perror("cannot allocate %lu MiB of copy buffers",
			  (NR_COPY_BUFS * COPY_BUF_SIZE) >> 20);
		return -1;
	}
	populate_ring(expect_bytes);
	for (i = 0; i < NR_COPY_BUFS; i++) {
		slots[i].data = copy_area + i * COPY_BUF_SIZE;
		if (page_xfer_remote()) {
			slots[i].hdrs = xmalloc(MAX_HDRS * sizeof(*slots[i].hdrs));
			if (!slots[i].hdrs)
				return -1;
		}
	}
	ring_stop = false;
	ring_error = 0;
	if (pthread_create(&writer, NULL, writer_main, NULL)) {
		pr_err("cannot start the image writer thread\n");
		return -1;
	}
	writer_running = true;
	return 0;
}

void mem_ring_fini(void)
{
	int i;

	if (writer_running) {
		pthread_mutex_lock(&ring_lock);
		ring_stop = true;
		pthread_cond_broadcast(&ring_cond);
		pthread_mutex_unlock(&ring_lock);
		pthread_join(writer, NULL);
		writer_running = false;
	}
	for (i = 0; i < NR_COPY_BUFS; i++) {
		free(slots[i].hdrs);
		slots[i].hdrs = NULL;
	}
	if (copy_area)
		munmap(copy_area, NR_COPY_BUFS * COPY_BUF_SIZE);
	copy_area = NULL;
}

/* the buffer for synchronous use (shmem.c), once the ring is drained */
u8 *mem_copy_buf(void)
{
	return slots[0].data;
}
